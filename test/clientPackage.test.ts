// The client as its users get it: `npm pack` builds and packs clients/typescript, the tarball is
// installed into a fresh project, and that project uses it from plain JavaScript against the
// running service and from TypeScript, type-checked against the installed declarations. The
// credential snippet of the READMEs is type-checked there too, against @azure/communication-common.
//
// The install needs no network: the fresh project names the tarball and, as `file:` links, the
// repository's own installed copies of its dependency openapi-fetch and of
// @azure/communication-common; npm resolves the tarball's dependency to that link and fetches
// nothing (`--offline` makes any attempt fail loudly instead of waiting on the registry).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { projectFile } from '../src/projectFiles.js';
import { startTestService } from './helpers/testService.js';

// Asynchronous on purpose: the service answering the packaged client runs in this process.
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const commandTimeout = 120_000;

const work = mkdtempSync(join(tmpdir(), 'client-package-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const packed = join(work, 'packed');
const app = join(work, 'app');
mkdirSync(packed);
mkdirSync(app);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

/** The `<!-- credential-snippet … -->` code block of a README, unindented. */
function credentialSnippet(readme: string): string {
  const match = /<!-- credential-snippet[^>]*-->\s*\n([ \t]*)```ts\n([\s\S]*?)\n[ \t]*```/.exec(readFileSync(projectFile(readme), 'utf8'));
  if (!match) throw new Error(`${readme} has no credential snippet`);
  const indent = match[1]!;
  return match[2]!.split('\n').map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join('\n');
}

t.test('npm pack ships the built JavaScript and declarations only', async (t) => {
  await run(npm, ['pack', '--pack-destination', packed, '--no-audit', '--no-fund'], { cwd: projectFile('clients/typescript'), timeout: commandTimeout });
  const tarballs = readdirSync(packed).filter((name) => name.endsWith('.tgz'));
  t.equal(tarballs.length, 1, 'one tarball');

  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'client-package-probe',
    private: true,
    type: 'module',
    dependencies: {
      '@acs-token-service/client': `file:${join(packed, tarballs[0]!)}`,
      'openapi-fetch': `file:${projectFile('node_modules/openapi-fetch')}`,
      '@azure/communication-common': `file:${projectFile('node_modules/@azure/communication-common')}`,
    },
  }, null, 2));
  await run(npm, ['install', '--offline', '--install-links=false', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', join(work, 'npm-cache')], { cwd: app, timeout: commandTimeout });

  const installed = join(app, 'node_modules/@acs-token-service/client');
  const files = filesUnder(installed);
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'built JavaScript with its declarations');
  t.same(files.filter((file) => !file.startsWith('dist/')), ['README.md', 'package.json'], 'nothing else ships beside dist/');
  t.notOk(files.some((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), 'no TypeScript source');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { main: string; exports: Record<string, unknown> };
  t.equal(manifest.main, './dist/index.js');
  t.same(manifest.exports['.'], { types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' });
});

t.test('plain JavaScript imports the installed package and talks to the service', async (t) => {
  const svc = await startTestService(t, { ACS_ALLOWED_SCOPES: 'chat,voip' });
  await svc.app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(svc.app.server.address() as AddressInfo).port}`;
  writeFileSync(join(app, 'use.js'), `
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { createTokenServiceClient, TokenServiceProblem } from '@acs-token-service/client';

const tokens = createTokenServiceClient({ baseUrl: process.env.BASE_URL, getAccessToken: async () => process.env.ACCESS_TOKEN });
const token = await tokens.getToken({ scopes: ['chat'] });
const user = await tokens.getUser();
const refused = await tokens.getToken({ scopes: ['voip.join'] }).catch((error) => error);
const credential = new AzureCommunicationTokenCredential({ tokenRefresher: tokens.tokenRefresher(), refreshProactively: true });
const refreshed = await credential.getToken();
credential.dispose();
console.log(JSON.stringify({
  token: token.token,
  tokenUser: token.user.communicationUserId,
  user: user?.acsUserIdentity,
  refusal: refused instanceof TokenServiceProblem ? refused.code : String(refused),
  refreshed: refreshed.token,
}));
`);
  const { stdout } = await run(process.execPath, ['use.js'], {
    cwd: app,
    timeout: commandTimeout,
    env: { ...process.env, BASE_URL: baseUrl, ACCESS_TOKEN: svc.userToken({ objectId: '6b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e' }) },
  });
  const result = JSON.parse(stdout) as { token: string; tokenUser: string; user: string; refusal: string; refreshed: string };
  t.equal(svc.acs.decodeToken(result.token)?.acsScope, 'chat', 'a token ACS issued, with the scope asked for');
  t.equal(result.tokenUser, result.user, 'for the identity the service created');
  t.match(result.user, /\S/);
  t.equal(result.refusal, 'scope_not_allowed', 'a refusal is a TokenServiceProblem with its code');
  t.ok(svc.acs.isTokenValid(result.refreshed), 'AzureCommunicationTokenCredential refreshed through the tokenRefresher');
});

t.test('TypeScript type-checks against the installed declarations, and so does the README snippet', async (t) => {
  writeFileSync(join(app, 'use.ts'), `
import { createTokenServiceClient, TokenServiceProblem, type AcsToken } from '@acs-token-service/client';

const tokens = createTokenServiceClient({ baseUrl: 'https://tokens.example.com', getAccessToken: async () => 'token' });
const token: AcsToken = await tokens.getToken({ scopes: ['chat', 'voip'], expiresInMinutes: 60 });
const id: string = token.user.communicationUserId;
const queued: boolean = (await tokens.deleteUser()).queued;
const refresher: (signal?: AbortSignal) => Promise<string> = tokens.tokenRefresher({ maxRetries: 2, maxRetryAfterSeconds: 10 });
const problem = new Error() as unknown;
if (problem instanceof TokenServiceProblem) console.log(problem.code, problem.retryAfterSeconds satisfies number | undefined);
// The declarations are real types, not any:
// @ts-expect-error -- not an ACS scope
await tokens.getToken({ scopes: ['everything'] });
// @ts-expect-error -- the token is a string
const wrong: number = token.token;
console.log(id, queued, refresher, wrong);
`);
  const snippets = ['clients/typescript/README.md', 'README.md'].map((readme, index) => {
    const file = `snippet${index}.ts`;
    // The snippet's one free name: the app's own sign-in.
    writeFileSync(join(app, file), `${credentialSnippet(readme)}\ndeclare function getAccessToken(): Promise<string>;\nexport { credential };\n`);
    return file;
  });
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022', 'DOM'],
      // @azure/communication-common's own dependencies name Node's types; with them, every
      // installed declaration file is checked, the client's included (no skipLibCheck).
      typeRoots: [projectFile('node_modules/@types')],
      types: ['node'],
      strict: true,
      noEmit: true,
    },
    files: ['use.ts', ...snippets],
  }, null, 2));
  const tsc = projectFile('node_modules/typescript/bin/tsc');
  const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeout: commandTimeout }).then(
    () => '',
    (error: Error & { stdout?: string }) => error.stdout || error.message,
  );
  t.equal(checked, '', 'no type errors');
  t.match(readFileSync(join(app, snippets[0]!), 'utf8'), /new AzureCommunicationTokenCredential\(\{ tokenRefresher: tokens\.tokenRefresher\(\), refreshProactively: true \}\)/,
    'the snippet checked is the credential the README shows');
});
