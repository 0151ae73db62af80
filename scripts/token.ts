// `npm run -s token -- --user alice [--tenant fabrikam] [--teams] [--oidc] [--port 3000]`: prints a
// token of a local-mode user (and nothing else), so that TOKEN=$(npm run -s token -- …) works.
// It asks the running local-mode service (GET /local/token), on the port the service itself
// would take: --port, else PORT from the environment or ./.env, else 3000.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

const OPTIONS = '--user <name> [--tenant contoso|fabrikam] [--teams] [--oidc] [--port <port>]';

// As the service does (src/server.ts), so that both agree on PORT; the environment wins.
if (existsSync('.env')) process.loadEnvFile('.env');

function parse() {
  try {
    return parseArgs({
      options: {
        user: { type: 'string' },
        tenant: { type: 'string', default: 'contoso' },
        teams: { type: 'boolean', default: false },
        // A token of the emulator's generic OpenID Connect issuer instead of Entra ID's.
        oidc: { type: 'boolean', default: false },
        port: { type: 'string', default: process.env.PORT || '3000' },
      },
    });
  } catch (error) {
    // parseArgs throws a TypeError whose stack says nothing a user needs: one line instead.
    const { code, message } = error as NodeJS.ErrnoException;
    if (!code?.startsWith('ERR_PARSE_ARGS_')) throw error;
    const option = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(message)?.[1] : undefined;
    process.stderr.write(`${option ? `Unknown option ${option}` : message.split('\n')[0]}: the options are ${OPTIONS}\n`);
    process.exit(1);
  }
}

const { values } = parse();

if (!values.user) {
  process.stderr.write(`Usage: npm run -s token -- ${OPTIONS}\n`);
  process.exit(2);
}

const url = new URL(`http://127.0.0.1:${values.port}/local/token`);
url.searchParams.set('user', values.user);
url.searchParams.set('tenant', values.tenant);
if (values.teams) url.searchParams.set('teams', 'true');
if (values.oidc) url.searchParams.set('issuer', 'oidc');

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { token?: string; detail?: string };
  if (!response.ok || !body.token) {
    process.stderr.write(response.status === 404
      ? `The service on port ${values.port} is not in local mode: local tokens exist only there.\n`
      : `${body.detail ?? `The service answered ${response.status}.`}\n`);
    process.exit(1);
  }
  process.stdout.write(`${body.token}\n`);
} catch {
  process.stderr.write(`No service answers on port ${values.port}: start it with \`npm start\` (with no Azure settings, it runs in local mode), or, for a service on another port, add --port N (or set PORT, in the environment or ./.env).\n`);
  process.exit(1);
}
