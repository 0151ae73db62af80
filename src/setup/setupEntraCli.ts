// `npm run setup:entra`: creates or updates the app registrations the service and its demo need,
// signed in as the operator, and prints the settings for .env (on stdout; progress goes to stderr,
// so `npm run -s setup:entra >> .env` works). Reads `.env` as the doctor and `npm run migrate` do,
// so a re-run uses its AZURE_TENANT_ID, AZURE_AUTHORITY_HOST and GRAPH_BASE_URL. See docs/setup-entra.md.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GUID } from '../shared/guid.js';
import { GraphRequestError, graphClient } from './graphClient.js';
import { API_SCOPE, setUpEntra, type EntraSetupResult } from './entraApps.js';
import { DEFAULT_AUTHORITY_HOST, operatorCredential, operatorSignIn, SetupError } from './operatorSignIn.js';

const USAGE = `Usage: npm run setup:entra -- [options]
  --name NAME           the API's app registration (default "ACS token service")
  --spa-name NAME       the demo's single-page app (default "<name> demo")
  --redirect-uri URL    the demo's redirect URI (default http://localhost:3000/demo/)
  --tenant ID           the tenant to sign in to, its id or a domain name (default AZURE_TENANT_ID, else your account's)
  --teams               also require the Teams permissions of Azure Communication Services
  --use-azure-cli       sign in with \`az login\`'s account instead of a device code
`;

const log = (line: string) => { process.stderr.write(`${line}\n`); };

/** What Graph's refusal means for the operator, besides its own words. */
function hintFor(error: GraphRequestError): string {
  if (error.status === 403) return ' (sign in as an account with the Application Administrator or Cloud Application Administrator role)';
  if (error.status === 401) return ' (the sign-in was not accepted: check the tenant, or sign in again)';
  return '';
}

export function envLines(result: EntraSetupResult, tenantId: string | undefined, authorityHost: string, teams: boolean): string[] {
  return [
    '# Entra ID (written by npm run setup:entra)',
    tenantId ? `AZURE_TENANT_ID=${tenantId}` : '# AZURE_TENANT_ID=<your tenant id>',
    `AZURE_CLIENT_ID=${result.api.appId}`,
    ...(authorityHost === DEFAULT_AUTHORITY_HOST ? [] : [`AZURE_AUTHORITY_HOST=${authorityHost}`]),
    `AUTH_REQUIRED_SCOPE=${API_SCOPE}`,
    '# The demo page (/demo) with its single-page app registration',
    'DEMO_ENABLED=true',
    `DEMO_CLIENT_ID=${result.spa.appId}`,
    `DEMO_API_SCOPE=api://${result.api.appId}/${API_SCOPE}`,
    ...(teams ? ['# Teams on-behalf-of: a client secret of the API app (its value), and admin consent (npm run doctor -- --teams-sign-in checks it)', '# AZURE_CLIENT_SECRET='] : []),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string', default: 'ACS token service' },
      'spa-name': { type: 'string' },
      'redirect-uri': { type: 'string', default: 'http://localhost:3000/demo/' },
      tenant: { type: 'string' },
      teams: { type: 'boolean', default: false },
      'use-azure-cli': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) { process.stdout.write(USAGE); return 0; }
  // The process's own variables win over .env's (loadEnvFile does not override them).
  if (existsSync('.env')) process.loadEnvFile('.env');
  const redirect = URL.canParse(values['redirect-uri']) ? new URL(values['redirect-uri']) : undefined;
  if (!redirect || (redirect.protocol !== 'https:' && !(redirect.protocol === 'http:' && redirect.hostname === 'localhost'))) {
    throw new SetupError(`--redirect-uri (${values['redirect-uri']}) must be https://, or http://localhost (Entra ID's rule for single-page apps)`);
  }
  const signIn = operatorSignIn(process.env, values['use-azure-cli']);
  const tenant = values.tenant ?? (process.env.AZURE_TENANT_ID || undefined);
  const graph = graphClient(signIn.graphBaseUrl, operatorCredential(signIn, tenant, log));
  const result = await setUpEntra(graph, {
    apiName: values.name,
    spaName: values['spa-name'] ?? `${values.name} demo`,
    redirectUri: redirect.href,
    teams: values.teams,
  }, log);
  log(`API app "${values.name}" (${result.api.appId}): ${result.api.change}; single-page app (${result.spa.appId}): ${result.spa.change}.`);
  for (const appId of result.servicePrincipalsCreated) log(`Service principal created for ${appId}.`);
  // The signed-in token's tenant id: --tenant may be a domain name, and the service takes only the GUID.
  const tenantId = (await graph.tenantId()) ?? (tenant && GUID.test(tenant) ? tenant : undefined);
  if (values.teams && tenantId) {
    log(`Teams: an administrator grants consent to the Teams permissions at ${signIn.authorityHost}/${tenantId}/adminconsent?client_id=${result.api.appId}`);
  }
  process.stdout.write(`${envLines(result, tenantId, signIn.authorityHost, values.teams).join('\n')}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  // A refusal is told in Graph's words (code and message); no stack, which says nothing to an operator.
  const message = error instanceof GraphRequestError
    ? `${error.message}${hintFor(error)}`
    : error instanceof SetupError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
      ? (error as Error).message
      : `${(error as Error).name}: ${(error as Error).message.split('\n')[0]}`;
  process.stderr.write(`setup:entra failed: ${message}\n`);
  process.exitCode = 1;
}
