// The demo page at /demo (built into dist/demo by `npm run build`): in local mode always, in
// configured mode when DEMO_ENABLED=true. /demo/config.json tells the page how to sign in:
// with the local emulator, or with Entra ID through MSAL (client id, authority and API scope
// from this service's configuration). The page's own Content-Security-Policy allows scripts
// and styles from this origin only, and connections to this origin and the Entra authority.
import { readFile } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthConfig, Config } from '../config/index.js';
import { HttpProblem } from '../http/httpProblem.js';
import { projectFile } from '../projectFiles.js';
import { sendProblem } from '../http/sendProblem.js';

const FILES: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.LEGAL.txt': 'text/plain; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
};

export interface DemoOptions {
  mode: 'local' | 'entra';
  auth: AuthConfig;
  demo: Config['demo'];
}

/** What the page needs to sign users in. */
function pageConfig({ mode, auth, demo }: DemoOptions): Record<string, string> {
  if (mode === 'local') return { mode };
  // One tenant: its authority; several: any work account, the service checks the tenant.
  const tenant = auth.allowedTenants.length === 1 ? auth.allowedTenants[0]! : 'organizations';
  return {
    mode,
    clientId: demo.clientId ?? auth.clientId,
    authority: `${auth.authorityHost}/${tenant}`,
    scope: demo.apiScope ?? `api://${auth.clientId}/${auth.requiredScope}`,
  };
}

export default fp(async function demo(app, options: DemoOptions) {
  const contentSecurityPolicy = [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    `connect-src 'self'${options.mode === 'entra' ? ` ${options.auth.authorityHost}` : ''}`,
    // MSAL renews tokens silently in a hidden frame of the authority.
    `frame-src ${options.mode === 'entra' ? options.auth.authorityHost : "'none'"}`,
    // 'self': MSAL loads this page in a hidden frame of its own to renew tokens silently.
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'self'",
  ].join('; ');
  const config = pageConfig(options);
  const cache = new Map<string, Buffer>();

  app.get('/demo', (_request, reply) => reply.redirect('/demo/'));
  app.get('/demo/config.json', (_request, reply) => reply.header('cache-control', 'no-store').send(config));
  const serve = async (file: string, reply: FastifyReply) => {
    const type = FILES[file];
    if (type === undefined) {
      return sendProblem(reply, new HttpProblem(404, 'not_found', `No file ${file.slice(0, 100)} in the demo.`));
    }
    let content = cache.get(file);
    if (!content) {
      try {
        content = await readFile(projectFile('dist', 'demo', file || 'index.html'));
      } catch {
        return sendProblem(reply, new HttpProblem(404, 'not_found', 'The demo page is not built: run npm run build.'));
      }
      cache.set(file, content);
    }
    return reply.header('content-security-policy', contentSecurityPolicy).header('cache-control', 'no-cache').type(type).send(content);
  };
  app.get('/demo/', (_request, reply) => serve('', reply));
  app.get<{ Params: { file: string } }>('/demo/:file', (request, reply) => serve(request.params.file, reply));
}, { name: 'demo', dependencies: ['problem-details'], decorators: { reply: ['problem'] } });
