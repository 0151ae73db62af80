// The doctor's Teams check as a real process: with --teams-sign-in the operator signs in (the
// real DeviceCodeCredential against the Entra ID emulator; the test enters the code) and Graph
// (its emulator) tells whether the tenant has the ACS service principal and the admin consent;
// each failure names its fix. Without the flag the line says how to check.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { ACS_FIRST_PARTY_APP_ID } from '../emulators/azureFacts.js';
import { runAsOperator, startOperatorDirectory } from './helpers/operatorProcess.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

const DOCTOR = 'src/doctor/doctorCli.ts';
// Each subtest starts the doctor (and setup:entra) as processes of their own (tsx): a time budget of their own (README, Tests).
t.setTimeout(240_000);

const [directory, acs, database] = await Promise.all([startOperatorDirectory(t), startAcsEmulator(), createTestDatabase()]);
t.teardown(async () => { await acs.close(); await database.drop(); });
const { entra, graph } = directory;
const tenant = entra.tenantId;
const env = {
  ...testServiceEnv({ entra, acs, database }),
  ...directory.env,
  AZURE_AUTHORITY_CA_FILE: directory.env.NODE_EXTRA_CA_CERTS!,
  AZURE_CLIENT_SECRET: entra.clientSecret,
};
type Tap = Parameters<typeof runAsOperator>[0];
const doctor = (t: Tap, settings: Record<string, string>, args = ['--read-only', '--teams-sign-in']) => runAsOperator(t, entra, DOCTOR, args, settings);
const acsPrincipal = () => [...graph.servicePrincipals.values()].find((sp) => sp.appId === ACS_FIRST_PARTY_APP_ID);

t.test('without --teams-sign-in: not checked, and the line names the flag', async (t) => {
  const run = await doctor(t, env, ['--read-only']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /– Teams: not checked: .* need the operator's own sign-in: run npm run doctor -- --teams-sign-in to check them/);
  t.equal(run.signIns, 0);
});

t.test('a tenant without the ACS service principal: failed, the fix is az ad sp create', async (t) => {
  t.notOk(acsPrincipal(), 'the tenant has none yet');
  const run = await doctor(t, env);
  t.equal(run.code, 1, run.stdout + run.stderr);
  t.equal(run.signIns, 1, 'the operator signed in with a device code');
  t.match(run.stdout, new RegExp(`✘ Teams: tenant ${tenant}: no service principal of Azure Communication Services \\(${ACS_FIRST_PARTY_APP_ID}\\).* — fix: az ad sp create --id ${ACS_FIRST_PARTY_APP_ID} \\(signed in to tenant ${tenant}\\)`));
  t.same(graph.writes, [], 'the doctor changed nothing');
});

t.test('after setup:entra --teams: consent missing, then granted', async (t) => {
  const setup = await runAsOperator(t, entra, 'src/setup/setupEntraCli.ts', ['--tenant', tenant, '--teams'], directory.env);
  t.equal(setup.code, 0, setup.stderr);
  const clientId = /^AZURE_CLIENT_ID=(.+)$/m.exec(setup.stdout)![1]!;
  const settings = { ...env, AZURE_CLIENT_ID: clientId };
  const consentUrl = `${entra.authorityHost}/${tenant}/adminconsent?client_id=${clientId}`;

  const missing = await doctor(t, settings);
  t.equal(missing.code, 1);
  t.match(missing.stdout, `✘ Teams: tenant ${tenant}: no admin consent for this API to Teams.ManageCalls and Teams.ManageChats of Azure Communication Services`);
  t.match(missing.stdout, `fix: an administrator of tenant ${tenant} grants consent at ${consentUrl}`);

  const apiPrincipal = [...graph.servicePrincipals.values()].find((sp) => sp.appId === clientId)!;
  const grant = { id: randomUUID(), clientId: apiPrincipal.id!, resourceId: acsPrincipal()!.id!, consentType: 'AllPrincipals', scope: 'Teams.ManageCalls' };
  graph.grants.set(grant.id, grant);
  const partly = await doctor(t, settings);
  t.equal(partly.code, 1);
  t.match(partly.stdout, `✘ Teams: tenant ${tenant}: no admin consent for this API to Teams.ManageChats of`);

  // A single user's consent is not the tenant's.
  graph.grants.set('user', { ...grant, id: 'user', consentType: 'Principal', principalId: randomUUID(), scope: 'Teams.ManageChats' });
  t.equal((await doctor(t, settings)).code, 1);

  graph.grants.set(grant.id, { ...grant, scope: 'Teams.ManageCalls Teams.ManageChats' });
  const granted = await doctor(t, settings);
  t.equal(granted.code, 0, granted.stdout + granted.stderr);
  t.match(granted.stdout, `✔ Teams: tenant ${tenant}: Azure Communication Services' service principal present, admin consent to Teams.ManageCalls and Teams.ManageChats granted`);
  t.match(granted.stdout, /All checks passed/);
});

t.test('a Graph refusal is a failed line with Graph\'s code, and the other checks still run', async (t) => {
  const run = await doctor(t, { ...env, GRAPH_BASE_URL: `${graph.url}/nowhere` });
  t.equal(run.code, 1);
  t.match(run.stdout, new RegExp(`✘ Teams: tenant ${tenant}: Microsoft Graph refused GET /servicePrincipals: 401 InvalidAuthenticationToken: Access token validation failure. Invalid audience\\.`));
  t.match(run.stdout, /✔ Database: migrations current/);
  t.notMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack');
});

t.test('an http:// authority for the sign-in: failed line naming AZURE_AUTHORITY_HOST, no crash', async (t) => {
  const run = await doctor(t, { ...env, AZURE_AUTHORITY_HOST: 'http://127.0.0.1:9' });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Teams: AZURE_AUTHORITY_HOST \(http:\/\/127\.0\.0\.1:9\) must be an https:\/\/ URL/);
});
