// `npm run setup:entra` as a real process, signed in with the real DeviceCodeCredential against
// the Entra ID emulator (the test enters each device code it prints), or with the real
// AzureCliCredential and a stand-in `az` that hands out the emulator's token, against the Graph emulator:
// it creates, then changes nothing, patches what differs, tells Graph's refusals, and its .env
// lines start a working service. And the Graph emulator's own rules.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Graph from '@microsoft/microsoft-graph-types';
import t from 'tap';
import { ACS_FIRST_PARTY_APP_ID, ACS_FIRST_PARTY_SCOPES } from '../emulators/azureFacts.js';
import { runAsOperator, startOperatorDirectory, type OperatorDirectory } from './helpers/operatorProcess.js';
import { standInAzureCli } from './helpers/azureCli.js';
import { freePort } from './helpers/freePort.js';
import { startTestService } from './helpers/testService.js';

const SETUP = 'src/setup/setupEntraCli.ts';
// Each subtest runs the command as a process of its own (tsx): a time budget of their own (README, Tests).
t.setTimeout(240_000);

type Tap = Parameters<typeof runAsOperator>[0];

async function setup(t: Tap, directory: OperatorDirectory, args: string[] = []) {
  return runAsOperator(t, directory.entra, SETUP, ['--tenant', directory.entra.tenantId, ...args], directory.env);
}

const byName = (directory: OperatorDirectory, name: string) => [...directory.graph.applications.values()].filter((app) => app.displayName === name);

function envOf(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

t.test('first run creates both apps as the service and its demo need them; the second changes nothing', async (t) => {
  const directory = await startOperatorDirectory(t);
  const first = await setup(t, directory);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.signIns, 1, 'signed in once, with a device code');
  t.notMatch(first.stdout, /enter the code/, 'the sign-in prompt is not among the .env lines');
  const [api] = byName(directory, 'ACS token service');
  const [spa] = byName(directory, 'ACS token service demo');
  t.ok(api && spa, 'both apps exist');
  const scope = api!.api!.oauth2PermissionScopes!.find((candidate) => candidate.value === 'access_as_user');
  t.match(scope, { type: 'User', isEnabled: true });
  t.equal(api!.api!.requestedAccessTokenVersion, 2);
  t.same(api!.identifierUris, [`api://${api!.appId}`]);
  t.same(api!.api!.preAuthorizedApplications, [{ appId: spa!.appId, delegatedPermissionIds: [scope!.id] }]);
  t.same(spa!.spa!.redirectUris, ['http://localhost:3000/demo/']);
  t.same(spa!.requiredResourceAccess, [{ resourceAppId: api!.appId, resourceAccess: [{ id: scope!.id, type: 'Scope' }] }]);
  t.notOk(api!.requiredResourceAccess?.length, 'no Teams permission without --teams');
  t.same([...directory.graph.servicePrincipals.values()].map((sp) => sp.appId).sort(), [api!.appId, spa!.appId].sort(), 'a service principal for each app');
  t.same(envOf(first.stdout), {
    AZURE_TENANT_ID: directory.entra.tenantId,
    AZURE_CLIENT_ID: api!.appId,
    AZURE_AUTHORITY_HOST: directory.entra.authorityHost,
    AUTH_REQUIRED_SCOPE: 'access_as_user',
    DEMO_ENABLED: 'true',
    DEMO_CLIENT_ID: spa!.appId,
    DEMO_API_SCOPE: `api://${api!.appId}/access_as_user`,
  });

  const writes = directory.graph.writes.length;
  const before = JSON.stringify([...directory.graph.applications.values()]);
  const second = await setup(t, directory);
  t.equal(second.code, 0, second.stderr);
  t.equal(directory.graph.writes.length, writes, 'no write to Graph');
  t.equal(JSON.stringify([...directory.graph.applications.values()]), before);
  t.match(second.stderr, /: unchanged; single-page app \([0-9a-f-]+\): unchanged/);
  t.same(envOf(second.stdout), envOf(first.stdout), 'the same settings');
});

/** The directory's apps, service principals and Graph writes, and the settings printed: each id replaced by its order of first appearance, times left out. */
function madeIn(directory: OperatorDirectory, stdout: string): string {
  const ids = new Map<string, string>();
  const made = JSON.stringify([[...directory.graph.applications.values()], [...directory.graph.servicePrincipals.values()], directory.graph.writes, envOf(stdout)]);
  return made.replace(/"createdDateTime":"[^"]*",?/g, '').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => ids.get(id) ?? ids.set(id, `<id ${ids.size}>`).get(id)!);
}

t.test('--use-azure-cli signs in with the token of `az account get-access-token`, and makes what the device code run makes', async (t) => {
  const viaDeviceCode = await startOperatorDirectory(t);
  const reference = await setup(t, viaDeviceCode);
  t.equal(reference.code, 0, reference.stderr);

  const directory = await startOperatorDirectory(t);
  const az = standInAzureCli(t, directory.graph.url, { accessToken: directory.entra.mintAccessToken({ claims: { aud: directory.graph.url } }) });
  const run = await runAsOperator(t, directory.entra, SETUP, ['--tenant', directory.entra.tenantId, '--use-azure-cli'], { ...directory.env, PATH: az.path });
  t.equal(run.code, 0, run.stderr);
  t.ok(az.calls().length >= 1, 'az was run');
  for (const call of az.calls()) {
    t.same(call, ['account', 'get-access-token', '--output', 'json', '--resource', directory.graph.url, '--tenant', directory.entra.tenantId], 'for Graph, in the tenant of --tenant');
  }
  t.equal(run.signIns, 0, 'no device code entered');
  t.notMatch(run.stdout + run.stderr, /enter the code|devicelogin/i, 'no device code prompt');
  t.equal(byName(directory, 'ACS token service').length, 1);
  t.equal(madeIn(directory, run.stdout).replaceAll(directory.entra.authorityHost, '<authority>'), madeIn(viaDeviceCode, reference.stdout).replaceAll(viaDeviceCode.entra.authorityHost, '<authority>'),
    'the same apps, service principals, Graph writes and settings');
});

t.test('--use-azure-cli when az is not signed in: exit 1, told to run az login, nothing changed', async (t) => {
  const directory = await startOperatorDirectory(t);
  const az = standInAzureCli(t, directory.graph.url, { loggedOut: true });
  const run = await runAsOperator(t, directory.entra, SETUP, ['--tenant', directory.entra.tenantId, '--use-azure-cli'], { ...directory.env, PATH: az.path });
  t.equal(run.code, 1);
  t.equal(az.calls().length, 1, 'az asked once');
  t.match(run.stderr, `setup:entra failed: the Azure CLI is not signed in: run \`az login --tenant ${directory.entra.tenantId}\`, then run this again (or leave out --use-azure-cli to sign in with a device code)`);
  t.notMatch(run.stderr, /CredentialUnavailableError|\n\s+at /, 'no class name, no stack');
  t.equal(run.stdout, '', 'no settings printed');
  t.same(directory.graph.writes, []);
});

t.test('an existing registration is patched where it differs, its scope id and other redirects kept', async (t) => {
  const directory = await startOperatorDirectory(t);
  const scopeId = randomUUID();
  const api: Graph.Application = {
    id: randomUUID(), appId: randomUUID(), displayName: 'Tokens', identifierUris: [],
    api: { requestedAccessTokenVersion: null, oauth2PermissionScopes: [{ id: scopeId, value: 'access_as_user', type: 'Admin', isEnabled: true, adminConsentDisplayName: 'Mine' }] },
  };
  const spa: Graph.Application = { id: randomUUID(), appId: randomUUID(), displayName: 'Tokens web', spa: { redirectUris: ['https://old.example.test/demo/'] } };
  directory.graph.applications.set(api.id!, api).set(spa.id!, spa);

  const run = await setup(t, directory, ['--name', 'Tokens', '--spa-name', 'Tokens web', '--redirect-uri', 'https://tokens.example.test/demo/']);
  t.equal(run.code, 0, run.stderr);
  t.equal(directory.graph.applications.size, 2, 'nothing created');
  t.same(directory.graph.writes.filter((write) => write.startsWith('PATCH')).sort(), [`PATCH /v1.0/applications/${api.id}`, `PATCH /v1.0/applications/${spa.id}`].sort());
  const after = directory.graph.applications.get(api.id!)!;
  t.equal(after.api!.requestedAccessTokenVersion, 2);
  t.match(after.api!.oauth2PermissionScopes, [{ id: scopeId, value: 'access_as_user', type: 'Admin', adminConsentDisplayName: 'Mine' }], 'the scope keeps its id and what the owner chose');
  t.same(directory.graph.applications.get(spa.id!)!.spa!.redirectUris, ['https://old.example.test/demo/', 'https://tokens.example.test/demo/']);
  t.match(run.stderr, /"Tokens" \([0-9a-f-]+\): updated; single-page app \([0-9a-f-]+\): updated/);
});

t.test('--teams requires the ACS permissions, their ids read from its service principal', async (t) => {
  const directory = await startOperatorDirectory(t, { acsServicePrincipal: true });
  const run = await setup(t, directory, ['--teams']);
  t.equal(run.code, 0, run.stderr);
  const [api] = byName(directory, 'ACS token service');
  const wanted = ACS_FIRST_PARTY_SCOPES.filter((scope) => scope.value.startsWith('Teams.')).map((scope) => ({ id: scope.id, type: 'Scope' }));
  t.same(api!.requiredResourceAccess, [{ resourceAppId: ACS_FIRST_PARTY_APP_ID, resourceAccess: wanted }]);
  t.equal([...directory.graph.servicePrincipals.values()].filter((sp) => sp.appId === ACS_FIRST_PARTY_APP_ID).length, 1, 'the existing ACS service principal is used');
  t.match(run.stderr, new RegExp(`adminconsent\\?client_id=${api!.appId}`));
  t.match(run.stdout, /# AZURE_CLIENT_SECRET=/);

  const again = await setup(t, directory, ['--teams']);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, /unchanged; single-page app \([0-9a-f-]+\): unchanged/);
});

t.test('--teams in a tenant without the ACS service principal creates it', async (t) => {
  const directory = await startOperatorDirectory(t);
  const run = await setup(t, directory, ['--teams']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, /Creating the service principal of Azure Communication Services/);
  t.ok([...directory.graph.servicePrincipals.values()].some((sp) => sp.appId === ACS_FIRST_PARTY_APP_ID));
});

t.test('Graph refusals: its code and message, no stack, exit 1', async (t) => {
  const directory = await startOperatorDirectory(t);
  // Another app holds the identifier URI the API app would get.
  const api: Graph.Application = { id: randomUUID(), appId: randomUUID(), displayName: 'ACS token service', identifierUris: [] };
  directory.graph.applications.set(api.id!, api).set('squatter', { id: 'squatter', appId: randomUUID(), displayName: 'Other', identifierUris: [`api://${api.appId}`] });
  const conflict = await setup(t, directory);
  t.equal(conflict.code, 1);
  t.match(conflict.stderr, `setup:entra failed: Microsoft Graph refused PATCH /applications/${api.id}: 400 Request_BadRequest: Another object with the same value for property identifierUris already exists.`);
  t.notMatch(conflict.stderr, /\n\s+at /, 'no stack');
  t.equal(conflict.stdout, '', 'no settings printed');

  directory.graph.applications.delete('squatter');
  directory.graph.denyWrites(true);
  const denied = await setup(t, directory, ['--name', 'Fresh']);
  t.equal(denied.code, 1);
  t.match(denied.stderr, /setup:entra failed: Microsoft Graph refused POST \/applications: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation\. \(sign in as an account with the Application Administrator/);
  t.notMatch(denied.stderr, /\n\s+at /);
  t.equal(byName(directory, 'Fresh').length, 0, 'nothing created');
});

t.test('an app just created that Graph does not know yet (404, eventual consistency): retried, then made as usual', async (t) => {
  const directory = await startOperatorDirectory(t);
  directory.graph.lagNewObjects(1);
  const run = await setup(t, directory);
  t.equal(run.code, 0, run.stderr);
  const [api] = byName(directory, 'ACS token service');
  t.equal(api!.api!.requestedAccessTokenVersion, 2, 'patched once Graph knew it');
  t.ok(directory.graph.writes.filter((write) => write === `PATCH /v1.0/applications/${api!.id}`).length >= 2, 'the PATCH answered 404 was sent again');
});

t.test('two apps of the same name: refused, named, nothing changed', async (t) => {
  const directory = await startOperatorDirectory(t);
  for (const id of ['one', 'two']) directory.graph.applications.set(id, { id, appId: randomUUID(), displayName: 'ACS token service' });
  const run = await setup(t, directory);
  t.equal(run.code, 1);
  t.match(run.stderr, /setup:entra failed: 2 app registrations are named "ACS token service"/);
  t.same(directory.graph.writes, []);
});

t.test('bad arguments and settings are refused before any sign-in', async (t) => {
  const directory = await startOperatorDirectory(t);
  const http = await setup(t, directory, ['--redirect-uri', 'http://tokens.example.test/demo/']);
  t.equal(http.code, 1);
  t.match(http.stderr, /--redirect-uri \(http:\/\/tokens\.example\.test\/demo\/\) must be https:\/\/, or http:\/\/localhost/);
  const graphUrl = await runAsOperator(t, directory.entra, SETUP, [], { ...directory.env, GRAPH_BASE_URL: 'http://graph.example.test' });
  t.equal(graphUrl.code, 1);
  t.match(graphUrl.stderr, /GRAPH_BASE_URL \(http:\/\/graph\.example\.test\) must be https:\/\//);
  t.equal(http.signIns + graphUrl.signIns, 0);
});

t.test('Graph unreachable: said so, after a bounded retry, exit 1', async (t) => {
  const directory = await startOperatorDirectory(t);
  const closed = `http://127.0.0.1:${await freePort()}`;
  const run = await runAsOperator(t, directory.entra, SETUP, ['--tenant', directory.entra.tenantId], { ...directory.env, GRAPH_BASE_URL: closed });
  t.equal(run.code, 1);
  t.match(run.stderr, `setup:entra failed: GET /applications: Microsoft Graph (${closed}) did not answer: ECONNREFUSED`);
  t.notMatch(run.stderr, /\n\s+at /);
});

t.test('the printed .env lines start a service that accepts the API\'s tokens and serves the demo\'s settings', async (t) => {
  const directory = await startOperatorDirectory(t);
  const run = await setup(t, directory);
  t.equal(run.code, 0, run.stderr);
  const settings = envOf(run.stdout);
  const svc = await startTestService(t, { ...settings, AZURE_AUTHORITY_CA_FILE: directory.env.NODE_EXTRA_CA_CERTS! });
  const token = directory.entra.mintAccessToken({ claims: { aud: settings.AZURE_CLIENT_ID } });
  const answer = await svc.request({ url: '/api/token', token });
  t.equal(answer.statusCode, 200, 'a token for the API app is accepted');
  const demo = await svc.app.inject({ url: '/demo/config.json' });
  t.match(JSON.parse(demo.body), { clientId: settings.DEMO_CLIENT_ID, scope: settings.DEMO_API_SCOPE, authority: `${directory.entra.authorityHost}/${directory.entra.tenantId}` });
});

t.test('a .env in the folder it runs in is read, as the doctor and npm run migrate read it', async (t) => {
  const directory = await startOperatorDirectory(t);
  const folder = mkdtempSync(join(tmpdir(), 'setup-entra-env-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(join(folder, '.env'), [
    `AZURE_TENANT_ID=${directory.entra.tenantId}`,
    `AZURE_AUTHORITY_HOST=${directory.env.AZURE_AUTHORITY_HOST}`,
    `GRAPH_BASE_URL=${directory.env.GRAPH_BASE_URL}`,
  ].join('\n'));
  const run = await runAsOperator(t, directory.entra, SETUP, [], { NODE_EXTRA_CA_CERTS: directory.env.NODE_EXTRA_CA_CERTS! }, folder);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.signIns, 1, 'signed in at the authority of .env');
  t.match(envOf(run.stdout), { AZURE_TENANT_ID: directory.entra.tenantId, AZURE_AUTHORITY_HOST: directory.entra.authorityHost });
  t.equal(byName(directory, 'ACS token service').length, 1, 'made through the Graph of .env');
});

t.test('--tenant as a domain name: only for the sign-in; the tenant id printed, and in the consent URL, is the GUID of the token', async (t) => {
  const directory = await startOperatorDirectory(t);
  const run = await runAsOperator(t, directory.entra, SETUP, ['--tenant', 'contoso.onmicrosoft.com', '--teams'], directory.env);
  t.equal(run.code, 0, run.stderr);
  const [api] = byName(directory, 'ACS token service');
  t.equal(envOf(run.stdout).AZURE_TENANT_ID, directory.entra.tenantId);
  t.match(run.stderr, `/${directory.entra.tenantId}/adminconsent?client_id=${api!.appId}`);
  t.notMatch(run.stdout + run.stderr, /contoso\.onmicrosoft\.com\/adminconsent|AZURE_TENANT_ID=contoso/);
});

t.test('the Graph emulator: a Graph token is required, and Graph\'s rules answer 400 in its error shape', async (t) => {
  const directory = await startOperatorDirectory(t);
  const { graph, entra } = directory;
  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const response = await fetch(`${graph.url}/v1.0${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: response.status === 204 ? undefined : await response.json() as { error?: { code: string; message: string } } };
  };
  const graphToken = entra.mintAccessToken({ claims: { aud: graph.url } });
  t.match(await call('GET', '/applications', undefined), { status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } });
  t.match(await call('GET', '/applications', entra.mintAccessToken()), { status: 401, body: { error: { message: /Invalid audience/ } } }, 'a token for another API');
  t.match(await call('POST', '/applications', graphToken, {}), { status: 400, body: { error: { code: 'Request_BadRequest', message: /'displayName'/ } } });
  t.match(await call('POST', '/servicePrincipals', graphToken, {}), { status: 400, body: { error: { code: 'Request_BadRequest', message: /'appId'/ } } });
  t.match(await call('GET', "/applications?$filter=startswith(displayName,'A')", graphToken), { status: 400, body: { error: { code: 'Request_UnsupportedQuery' } } });
  const created = await call('POST', '/applications', graphToken, { displayName: 'A', api: { oauth2PermissionScopes: [{ id: randomUUID(), value: 'x', type: 'User', isEnabled: true }] } });
  t.equal(created.status, 201);
  const app = created.body as Graph.Application;
  t.match(await call('PATCH', `/applications/${app.id}`, graphToken, { api: { oauth2PermissionScopes: [] } }), { status: 400, body: { error: { message: /cannot be deleted or updated unless disabled first/ } } });
  t.match(await call('PATCH', `/applications/${app.id}`, graphToken, { spa: { redirectUris: ['http://example.test/'] } }), { status: 400, body: { error: { message: /'redirectUris'/ } } });
  const newScope = { id: randomUUID(), value: 'y', type: 'User', isEnabled: true };
  t.match(await call('PATCH', `/applications/${app.id}`, graphToken, { api: { oauth2PermissionScopes: [...app.api!.oauth2PermissionScopes!, newScope], preAuthorizedApplications: [{ appId: randomUUID(), delegatedPermissionIds: [newScope.id] }] } }),
    { status: 400, body: { error: { message: /PreAuthorizedApplication references/ } } }, 'a scope defined in the same request cannot be pre-authorised');
  t.equal((await call('PATCH', `/applications/${app.id}`, graphToken, { identifierUris: ['api://a'] })).status, 204);
  t.match(await call('GET', `/applications?$filter=appId eq '${app.appId}'`, graphToken), { status: 200, body: { value: [{ identifierUris: ['api://a'] }] } });

  // $filter term by term: " and " inside a quoted value is part of it, '' is a quote; eq on a string ignores case, as Graph's does.
  const quoted = (await call('POST', '/applications', graphToken, { displayName: "Tokens and Bob's more" })).body as Graph.Application;
  const filter = async (expression: string) => (await call('GET', `/applications?$filter=${encodeURIComponent(expression)}`, graphToken)).body as { value?: Graph.Application[]; error?: unknown };
  t.same((await filter("displayName eq 'Tokens and Bob''s more'")).value?.map((found) => found.id), [quoted.id], "' and ' inside the value");
  t.same((await filter(`displayName eq 'tokens AND bob''s MORE' and appId eq '${quoted.appId}'`)).value?.map((found) => found.id), [quoted.id], 'case-insensitive, two terms');
  t.same((await filter(`displayName eq 'Tokens and Bob''s more' and appId eq '${app.appId}'`)).value, [], 'both terms must hold');
  t.match(await filter("displayName eq 'Tokens' or displayName eq 'A'"), { error: { code: 'Request_UnsupportedQuery' } });
});

t.test('a re-run keeps the permissions others added inside the entries it manages', async (t) => {
  const directory = await startOperatorDirectory(t, { acsServicePrincipal: true });
  const first = await setup(t, directory, ['--teams']);
  t.equal(first.code, 0, first.stderr);
  const [api] = byName(directory, 'ACS token service');
  const [spa] = byName(directory, 'ACS token service demo');
  const scopeId = api!.api!.oauth2PermissionScopes![0]!.id!;
  // The owner adds a second scope, pre-authorises the demo for it and requires it there, and
  // requires another permission of ACS.
  const second = { id: randomUUID(), value: 'read_status', type: 'User', isEnabled: true, adminConsentDisplayName: 'Read status' };
  const otherAcs = randomUUID();
  api!.api = {
    ...api!.api,
    oauth2PermissionScopes: [...api!.api!.oauth2PermissionScopes!, second],
    preAuthorizedApplications: [{ appId: spa!.appId, delegatedPermissionIds: [scopeId, second.id] }],
  };
  api!.requiredResourceAccess = api!.requiredResourceAccess!.map((entry) => ({ ...entry, resourceAccess: [...entry.resourceAccess!, { id: otherAcs, type: 'Scope' }] }));
  spa!.requiredResourceAccess = [{ resourceAppId: api!.appId!, resourceAccess: [{ id: scopeId, type: 'Scope' }, { id: second.id, type: 'Scope' }] }];
  const before = JSON.stringify([...directory.graph.applications.values()]);

  const again = await setup(t, directory, ['--teams']);
  t.equal(again.code, 0, again.stderr);
  const apiAfter = directory.graph.applications.get(api!.id!)!;
  const spaAfter = directory.graph.applications.get(spa!.id!)!;
  t.same(apiAfter.api!.preAuthorizedApplications, [{ appId: spa!.appId, delegatedPermissionIds: [scopeId, second.id] }], 'the second scope stays pre-authorised');
  t.same(spaAfter.requiredResourceAccess, [{ resourceAppId: api!.appId, resourceAccess: [{ id: scopeId, type: 'Scope' }, { id: second.id, type: 'Scope' }] }], 'the demo still requires both scopes');
  t.ok(apiAfter.requiredResourceAccess![0]!.resourceAccess!.some((access) => access.id === otherAcs), 'the other ACS permission stays');
  t.equal(JSON.stringify([...directory.graph.applications.values()]), before, 'nothing changed');
  t.match(again.stderr, /unchanged; single-page app \([0-9a-f-]+\): unchanged/);

  // Permissions it manages that were taken out are added back, beside the others.
  api!.api.preAuthorizedApplications = [{ appId: spa!.appId, delegatedPermissionIds: [second.id] }];
  const third = await setup(t, directory, ['--teams']);
  t.equal(third.code, 0, third.stderr);
  t.same(directory.graph.applications.get(api!.id!)!.api!.preAuthorizedApplications, [{ appId: spa!.appId, delegatedPermissionIds: [second.id, scopeId] }]);
});
