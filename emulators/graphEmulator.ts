// A local emulator of the few Microsoft Graph v1.0 endpoints that `npm run setup:entra` and the
// doctor's Teams check call: applications, service principals and delegated permission grants.
// Objects are typed with @microsoft/microsoft-graph-types; rules that Graph enforces and the
// types do not (required properties, unique identifier URIs, a permission scope that must be
// disabled before it is removed) answer 400 with Graph's error body. Every request needs a
// bearer token of the Entra ID emulator for the Graph audience.
import { randomUUID, type KeyObject } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type * as Graph from '@microsoft/microsoft-graph-types';
import { ACS_FIRST_PARTY_APP_ID, ACS_FIRST_PARTY_SCOPES } from './azureFacts.js';
import { GraphError, matches, parseFilter } from './graphFilter.js';
import { verifyRs256 } from './jwtSigner.js';
import { isLoopbackHost } from './loopback.js';

/** Microsoft Graph's own application id: a Graph token's `aud` is it or the Graph URL. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface GraphEmulatorOptions {
  host?: string;
  port?: number;
  /** The tenant whose tokens are accepted. */
  tenantId: string;
  /** The Entra ID emulator's published keys (by kid), which a token must be signed with. */
  publicKeys: () => Map<string, KeyObject>;
  /** Whether the ACS first-party app has a service principal in the tenant from the start. */
  acsServicePrincipal?: boolean;
}

export interface GraphEmulator {
  /** e.g. http://127.0.0.1:41234, the Graph base URL (without /v1.0). */
  readonly url: string;
  readonly applications: Map<string, Graph.Application>;
  readonly servicePrincipals: Map<string, Graph.ServicePrincipal>;
  readonly grants: Map<string, Graph.OAuth2PermissionGrant>;
  /** Writes made so far (POST and PATCH), for a test that checks that nothing changed. */
  readonly writes: string[];
  /** Answers writes with 403 Authorization_RequestDenied, as for a user without an admin role. */
  denyWrites(deny: boolean): void;
  /**
   * Applications created from now on answer 404 Request_ResourceNotFound to their first `requests`
   * requests by id, as Graph does while a new object has not reached every replica.
   */
  lagNewObjects(requests: number): void;
  close(): Promise<void>;
}

const badRequest = (message: string, target?: string) => new GraphError(400, 'Request_BadRequest', message, target);
const invalidValue = (property: string, resource: string) => badRequest(`Invalid value specified for property '${property}' of resource '${resource}'.`, property);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkScopes(scopes: Graph.PermissionScope[] | undefined): void {
  for (const scope of scopes ?? []) {
    if (!scope.id || !GUID.test(scope.id)) throw invalidValue('id', 'PermissionScope');
    if (!scope.value || /\s/.test(scope.value)) throw invalidValue('value', 'PermissionScope');
    if (scope.type !== 'User' && scope.type !== 'Admin') throw invalidValue('type', 'PermissionScope');
    if (typeof scope.isEnabled !== 'boolean') throw invalidValue('isEnabled', 'PermissionScope');
  }
}

function checkResourceAccess(list: Graph.RequiredResourceAccess[] | undefined): void {
  for (const entry of list ?? []) {
    if (!entry.resourceAppId || !GUID.test(entry.resourceAppId)) throw invalidValue('resourceAppId', 'RequiredResourceAccess');
    for (const access of entry.resourceAccess ?? []) {
      if (!access.id || !GUID.test(access.id) || (access.type !== 'Scope' && access.type !== 'Role')) throw invalidValue('resourceAccess', 'RequiredResourceAccess');
    }
  }
}

export async function startGraphEmulator(options: GraphEmulatorOptions): Promise<GraphEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`The Graph emulator listens on loopback only, not ${host}`);
  const applications = new Map<string, Graph.Application>();
  const servicePrincipals = new Map<string, Graph.ServicePrincipal>();
  const grants = new Map<string, Graph.OAuth2PermissionGrant>();
  const writes: string[] = [];
  let writesDenied = false;
  let lag = 0;
  /** Requests by id each new application still answers 404 to. */
  const lagging = new Map<string, number>();
  let url = '';

  // First-party apps are not application objects of the tenant: their service principals are
  // made from what Microsoft publishes.
  const firstParty = new Map<string, Graph.ServicePrincipal>([[ACS_FIRST_PARTY_APP_ID, {
    appId: ACS_FIRST_PARTY_APP_ID,
    displayName: 'Azure Communication Services',
    servicePrincipalNames: ['https://auth.msft.communication.azure.com', ACS_FIRST_PARTY_APP_ID],
    oauth2PermissionScopes: ACS_FIRST_PARTY_SCOPES.map(({ id, value }) => ({ id, value, type: 'User', isEnabled: true, adminConsentDisplayName: value })),
  }]]);

  function newServicePrincipal(appId: string): Graph.ServicePrincipal {
    const known = firstParty.get(appId);
    const app = [...applications.values()].find((candidate) => candidate.appId === appId);
    if (!known && !app) throw badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`, 'appId');
    const principal: Graph.ServicePrincipal = known
      ? { ...known, id: randomUUID() }
      : { id: randomUUID(), appId, displayName: app!.displayName, servicePrincipalNames: [...(app!.identifierUris ?? []), appId], oauth2PermissionScopes: app!.api?.oauth2PermissionScopes ?? [] };
    servicePrincipals.set(principal.id!, principal);
    return principal;
  }
  if (options.acsServicePrincipal) newServicePrincipal(ACS_FIRST_PARTY_APP_ID);

  /** Graph's rules for an application as it would be after a write. */
  function checkApplication(app: Graph.Application, before: Graph.Application | undefined): void {
    if (!app.displayName) throw invalidValue('displayName', 'Application');
    for (const uri of app.identifierUris ?? []) {
      if (!URL.canParse(uri)) throw invalidValue('identifierUris', 'Application');
      if ([...applications.values()].some((other) => other.id !== app.id && other.identifierUris?.includes(uri))) {
        throw badRequest('Another object with the same value for property identifierUris already exists.', 'identifierUris');
      }
    }
    for (const uri of app.spa?.redirectUris ?? []) {
      const parsed = URL.canParse(uri) ? new URL(uri) : undefined;
      if (!parsed || (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && parsed.hostname === 'localhost'))) throw invalidValue('redirectUris', 'Application');
    }
    const version = app.api?.requestedAccessTokenVersion;
    if (version !== undefined && version !== null && version !== 1 && version !== 2) throw invalidValue('requestedAccessTokenVersion', 'Application');
    const scopes = app.api?.oauth2PermissionScopes ?? [];
    checkScopes(scopes);
    for (const old of before?.api?.oauth2PermissionScopes ?? []) {
      const now = scopes.find((scope) => scope.id === old.id);
      if (old.isEnabled && (!now || now.value !== old.value)) {
        throw badRequest('Permission (scope or role) cannot be deleted or updated unless disabled first.', 'oauth2PermissionScopes');
      }
    }
    // Only scopes already stored count: one defined in the same request body is not recognised
    // (microsoftgraph/microsoft-graph-docs#20177), so a new scope takes a request of its own first.
    const stored = before?.api?.oauth2PermissionScopes ?? [];
    for (const pre of app.api?.preAuthorizedApplications ?? []) {
      if (!pre.appId || !GUID.test(pre.appId)) throw invalidValue('appId', 'PreAuthorizedApplication');
      if ((pre.delegatedPermissionIds ?? []).some((id) => !stored.some((scope) => scope.id === id))) {
        throw badRequest('Property PreAuthorizedApplication references applications that do not exist or permissions that are not defined on this application.', 'preAuthorizedApplications');
      }
    }
    checkResourceAccess(app.requiredResourceAccess);
  }

  const app = Fastify({ logger: false });

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const claims = verifyRs256(token, options.publicKeys());
    if (!claims) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    if (claims.aud !== GRAPH_APP_ID && claims.aud !== url && claims.aud !== `${url}/`) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw new GraphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
    if (claims.tid !== options.tenantId) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid tenant.');
    if (request.method !== 'GET') {
      writes.push(`${request.method} ${request.url}`);
      if (writesDenied) throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply: FastifyReply) => {
    const graph = error instanceof GraphError ? error : new GraphError(error.statusCode ?? 500, error.statusCode === 400 ? 'BadRequest' : 'InternalServerError', error.message);
    const inner = { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() };
    void reply.code(graph.status).send({ error: { code: graph.code, message: graph.message, ...(graph.target ? { details: [{ code: 'ObjectConflict', target: graph.target, message: graph.message }] } : {}), innerError: inner } });
  });

  const list = <T extends object>(entity: string, values: Iterable<T>) => ({ '@odata.context': `${url}/v1.0/$metadata#${entity}`, value: [...values] });

  app.get<{ Querystring: { $filter?: string } }>('/v1.0/applications', async (request) => {
    const terms = parseFilter(request.query.$filter, ['displayName', 'appId']);
    return list('applications', [...applications.values()].filter((candidate) => matches(candidate, terms)));
  });

  app.post<{ Body: Graph.Application | undefined }>('/v1.0/applications', async (request, reply) => {
    const body = request.body ?? {};
    const created: Graph.Application = { ...body, id: randomUUID(), appId: randomUUID(), createdDateTime: new Date().toISOString(), identifierUris: body.identifierUris ?? [] };
    checkApplication(created, undefined);
    applications.set(created.id!, created);
    if (lag > 0) lagging.set(created.id!, lag);
    return reply.code(201).send(created);
  });

  const notFound = (id: string) => new GraphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  /** The application `id`, unless it is new and this replica has not seen it yet. */
  function applicationById(id: string): Graph.Application | undefined {
    const left = lagging.get(id) ?? 0;
    if (left > 0) {
      lagging.set(id, left - 1);
      throw notFound(id);
    }
    return applications.get(id);
  }

  app.get<{ Params: { id: string } }>('/v1.0/applications/:id', async (request) => {
    const found = applicationById(request.params.id);
    if (!found) throw notFound(request.params.id);
    return found;
  });

  app.patch<{ Params: { id: string }; Body: Graph.Application | undefined }>('/v1.0/applications/:id', async (request, reply) => {
    const before = applicationById(request.params.id);
    if (!before) throw notFound(request.params.id);
    const changes = request.body ?? {};
    for (const readOnly of ['id', 'appId'] as const) {
      if (changes[readOnly] !== undefined) throw badRequest(`Property '${readOnly}' is read-only and cannot be set.`, readOnly);
    }
    // A complex property (api, spa) is replaced as a whole by what the request sends of it,
    // except the properties of it that the request leaves out.
    const after: Graph.Application = { ...before, ...changes };
    if (changes.api) after.api = { ...before.api, ...changes.api };
    if (changes.spa) after.spa = { ...before.spa, ...changes.spa };
    checkApplication(after, before);
    applications.set(before.id!, after);
    return reply.code(204).send();
  });

  app.get<{ Querystring: { $filter?: string } }>('/v1.0/servicePrincipals', async (request) => {
    const terms = parseFilter(request.query.$filter, ['appId', 'displayName']);
    return list('servicePrincipals', [...servicePrincipals.values()].filter((candidate) => matches(candidate, terms)));
  });

  app.post<{ Body: Graph.ServicePrincipal | undefined }>('/v1.0/servicePrincipals', async (request, reply) => {
    const appId = request.body?.appId;
    if (!appId) throw invalidValue('appId', 'ServicePrincipal');
    if ([...servicePrincipals.values()].some((candidate) => candidate.appId === appId)) {
      throw badRequest('The service principal cannot be created, updated, or restored because the service principal name is already in use.', 'appId');
    }
    return reply.code(201).send(newServicePrincipal(appId));
  });

  app.get<{ Querystring: { $filter?: string } }>('/v1.0/oauth2PermissionGrants', async (request) => {
    const terms = parseFilter(request.query.$filter, ['clientId', 'resourceId', 'consentType']);
    return list('oauth2PermissionGrants', [...grants.values()].filter((candidate) => matches(candidate, terms)));
  });

  app.post<{ Body: Graph.OAuth2PermissionGrant | undefined }>('/v1.0/oauth2PermissionGrants', async (request, reply) => {
    const body = request.body ?? {};
    for (const property of ['clientId', 'resourceId'] as const) {
      if (!body[property] || !servicePrincipals.has(body[property])) throw invalidValue(property, 'OAuth2PermissionGrant');
    }
    if (body.consentType !== 'AllPrincipals' && body.consentType !== 'Principal') throw invalidValue('consentType', 'OAuth2PermissionGrant');
    const grant: Graph.OAuth2PermissionGrant = { ...body, id: randomUUID() };
    grants.set(grant.id!, grant);
    return reply.code(201).send(grant);
  });

  url = await app.listen({ host, port: options.port ?? 0 });
  return {
    url,
    applications,
    servicePrincipals,
    grants,
    writes,
    denyWrites(deny) {
      writesDenied = deny;
    },
    lagNewObjects(requests) {
      lag = requests;
    },
    close: () => app.close(),
  };
}
