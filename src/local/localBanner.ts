// What local mode prints when it is up: what is emulated, where data lives, and two commands
// that work as pasted (a test runs them).
export function localBanner({ port, host, entra, acs, storage, kept }: { port: number; host: string; entra: string; acs: string; storage: string; kept: boolean }): string {
  const base = `http://localhost:${port}`;
  const portArgument = port === 3000 ? '' : ` --port ${port}`;
  const exposed = host === '127.0.0.1' || host === 'localhost' || host === '::1'
    ? ''
    : `\n  WARNING  HOST=${host}: anyone who reaches this port can mint local tokens.\n`;
  const users = kept
    ? 'Each user name is its own user, kept across restarts.'
    : 'Each user name is its own user, forgotten when the service stops (the database is in memory).';
  return `
  ACS token service — LOCAL MODE: no Azure account needed, nothing leaves this machine.

  Entra ID    emulated at ${entra} (tenants contoso and fabrikam)
  ACS         emulated at ${acs}
  Database    ${storage}
  API         ${base}   (docs: ${base}/docs)
  Demo page   ${base}/demo/
${exposed}
  Try it:
    TOKEN=$(npm run -s token -- --user alice${portArgument})
    curl -s ${base}/api/token -H "Authorization: Bearer $TOKEN"

  ${users}
  To use real Azure instead, set DATABASE_URL, ACS_CONNECTION_STRING, AZURE_TENANT_ID and
  AZURE_CLIENT_ID (see .env.example).

`;
}
