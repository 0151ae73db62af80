// What `npm run setup:entra` makes in Entra ID, through Microsoft Graph: the API's app registration
// (v2 access tokens, the access_as_user scope, api://<appId>), the demo's single-page app (its
// redirect URI, the scope pre-authorised and required) and, when asked, the Teams permissions.
// Each app is found by display name and patched only where it differs: running it again changes nothing.
import { randomUUID } from 'node:crypto';
import type * as Graph from '@microsoft/microsoft-graph-types';
import { ACS_APP_ID, findServicePrincipal, teamsScopeIds } from './acsServicePrincipal.js';
import { filterEq, type GraphClient } from './graphClient.js';
import { SetupError } from './operatorSignIn.js';

export const API_SCOPE = 'access_as_user';

export interface EntraSetupOptions {
  apiName: string;
  spaName: string;
  redirectUri: string;
  teams: boolean;
}

export type Change = 'created' | 'updated' | 'unchanged';

export interface EntraSetupResult {
  api: { appId: string; change: Change };
  spa: { appId: string; change: Change };
  /** Service principals made for the apps (and the ACS app with Teams). */
  servicePrincipalsCreated: string[];
}

type Application = Graph.Application & { id: string; appId: string };

async function findOrCreate(graph: GraphClient, displayName: string, log: (line: string) => void): Promise<{ app: Application; created: boolean }> {
  const found = await graph.list<Application>(`/applications?${filterEq('displayName', displayName)}`);
  if (found.length > 1) {
    throw new SetupError(`${found.length} app registrations are named "${displayName}" (${found.map((app) => app.appId).join(', ')}): delete the extra ones, or name another with --name / --spa-name`);
  }
  if (found[0]) return { app: found[0], created: false };
  log(`Creating the app registration "${displayName}"…`);
  return { app: await graph.post<Application>('/applications', { displayName, signInAudience: 'AzureADMyOrg' }), created: true };
}

/** `list` with the entry that `same` finds replaced by `make(entry)` in its place, or `make()` added. */
function upsert<T>(list: T[] | null | undefined, same: (entry: T) => boolean, make: (existing?: T) => T): T[] {
  const rest = (list ?? []).filter((entry) => !same(entry));
  const index = (list ?? []).findIndex(same);
  return index < 0 ? [...rest, make()] : [...rest.slice(0, index), make((list ?? [])[index]), ...rest.slice(index)];
}

/** `current` and the items of `wanted` it lacks: an entry's other permissions are the owner's, kept. */
function union<I>(current: I[] | null | undefined, wanted: I[], key: (item: I) => string): I[] {
  const have = new Set((current ?? []).map(key));
  return [...(current ?? []), ...wanted.filter((item) => !have.has(key(item)))];
}

const accessKey = (access: Graph.ResourceAccess) => `${access.type}:${access.id}`;

/** The entry for `wanted.resourceAppId` with `wanted`'s permissions added to those it has. */
function requireAccess(list: Graph.RequiredResourceAccess[] | null | undefined, wanted: Graph.RequiredResourceAccess): Graph.RequiredResourceAccess[] {
  return upsert(list, (entry) => entry.resourceAppId === wanted.resourceAppId,
    (existing) => ({ ...existing, resourceAppId: wanted.resourceAppId, resourceAccess: union(existing?.resourceAccess, wanted.resourceAccess ?? [], accessKey) }));
}

/** JSON with object keys sorted: Graph need not answer with properties in the order they were sent. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The properties of `desired` whose value differs from `current`'s. */
function differences(current: object, desired: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(desired).filter(([name, value]) => canonical(value) !== canonical((current as Record<string, unknown>)[name])));
}

function apiScope(existing: Graph.PermissionScope | undefined): Graph.PermissionScope {
  return {
    ...existing,
    // An existing scope keeps its id: Graph refuses to change an enabled scope, and clients' consent refers to it.
    id: existing?.id ?? randomUUID(),
    value: API_SCOPE,
    type: existing?.type ?? 'User',
    isEnabled: true,
    adminConsentDisplayName: existing?.adminConsentDisplayName ?? 'Get ACS tokens as the signed-in user',
    adminConsentDescription: existing?.adminConsentDescription ?? 'Lets the app get Azure Communication Services tokens for the signed-in user.',
    userConsentDisplayName: existing?.userConsentDisplayName ?? 'Get ACS tokens as you',
    userConsentDescription: existing?.userConsentDescription ?? 'Lets the app get Azure Communication Services tokens for you.',
  };
}

async function teamsAccess(graph: GraphClient, created: string[], log: (line: string) => void): Promise<Graph.RequiredResourceAccess> {
  let principal = await findServicePrincipal(graph, ACS_APP_ID);
  if (!principal) {
    log(`Creating the service principal of Azure Communication Services (${ACS_APP_ID}) in the tenant…`);
    principal = await graph.post<Graph.ServicePrincipal>('/servicePrincipals', { appId: ACS_APP_ID });
    created.push(ACS_APP_ID);
  }
  const { ids, missing } = teamsScopeIds(principal);
  if (missing.length > 0) throw new SetupError(`the Azure Communication Services service principal publishes no delegated permission ${missing.join(', ')}`);
  return { resourceAppId: ACS_APP_ID, resourceAccess: [...ids.values()].map((id) => ({ id, type: 'Scope' })) };
}

async function patchIfChanged(graph: GraphClient, app: Application, desired: Record<string, unknown>, created: boolean, log: (line: string) => void): Promise<Change> {
  const changes = differences(app, desired);
  if (Object.keys(changes).length === 0) return created ? 'created' : 'unchanged';
  log(`Updating "${app.displayName}" (${app.appId}): ${Object.keys(changes).join(', ')}…`);
  await graph.patch(`/applications/${app.id}`, changes);
  return created ? 'created' : 'updated';
}

/** Service principals for the apps, as the portal makes them: tokens for the API need one in the tenant. */
async function ensureServicePrincipal(graph: GraphClient, appId: string, created: string[]): Promise<void> {
  if (await findServicePrincipal(graph, appId)) return;
  // A new application reaches every Graph replica within seconds: until then, its appId is unknown.
  for (let attempt = 1; ; attempt++) {
    try {
      await graph.post('/servicePrincipals', { appId });
      created.push(appId);
      return;
    } catch (error) {
      const unknownApp = (error as { code?: string }).code === 'Request_BadRequest' && /does not reference a valid application/.test((error as Error).message);
      if (!unknownApp || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
    }
  }
}

export async function setUpEntra(graph: GraphClient, options: EntraSetupOptions, log: (line: string) => void): Promise<EntraSetupResult> {
  const servicePrincipalsCreated: string[] = [];
  const api = await findOrCreate(graph, options.apiName, log);
  const spa = await findOrCreate(graph, options.spaName, log);
  const teams = options.teams ? await teamsAccess(graph, servicePrincipalsCreated, log) : undefined;

  const existingScope = api.app.api?.oauth2PermissionScopes?.find((candidate) => candidate.value === API_SCOPE);
  const scope = apiScope(existingScope);
  if (!existingScope) {
    // Graph does not let preAuthorizedApplications name a scope defined in the same request: the scope first.
    log(`Adding the scope ${API_SCOPE} to "${api.app.displayName}" (${api.app.appId})…`);
    api.app.api = { ...api.app.api, oauth2PermissionScopes: [...(api.app.api?.oauth2PermissionScopes ?? []), scope] };
    await graph.patch(`/applications/${api.app.id}`, { api: api.app.api });
  }
  const apiDesired = {
    identifierUris: upsert(api.app.identifierUris, (uri) => uri === `api://${api.app.appId}`, () => `api://${api.app.appId}`),
    api: {
      ...api.app.api,
      requestedAccessTokenVersion: 2,
      oauth2PermissionScopes: upsert(api.app.api?.oauth2PermissionScopes, (entry) => entry.id === scope.id, () => scope),
      preAuthorizedApplications: upsert(api.app.api?.preAuthorizedApplications, (entry) => entry.appId === spa.app.appId,
        (existing) => ({ ...existing, appId: spa.app.appId, delegatedPermissionIds: union(existing?.delegatedPermissionIds, [scope.id!], (id) => id) })),
    },
    ...(teams ? { requiredResourceAccess: requireAccess(api.app.requiredResourceAccess, teams) } : {}),
  };
  const spaDesired = {
    spa: { ...spa.app.spa, redirectUris: upsert(spa.app.spa?.redirectUris, (uri) => uri === options.redirectUri, () => options.redirectUri) },
    requiredResourceAccess: requireAccess(spa.app.requiredResourceAccess, { resourceAppId: api.app.appId, resourceAccess: [{ id: scope.id!, type: 'Scope' }] }),
  };
  const apiPatched = await patchIfChanged(graph, api.app, apiDesired, api.created, log);
  const apiChange = apiPatched === 'unchanged' && !existingScope ? 'updated' : apiPatched;
  const spaChange = await patchIfChanged(graph, spa.app, spaDesired, spa.created, log);
  await ensureServicePrincipal(graph, api.app.appId, servicePrincipalsCreated);
  await ensureServicePrincipal(graph, spa.app.appId, servicePrincipalsCreated);
  return { api: { appId: api.app.appId, change: apiChange }, spa: { appId: spa.app.appId, change: spaChange }, servicePrincipalsCreated };
}
