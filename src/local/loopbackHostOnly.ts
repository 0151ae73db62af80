// Local mode answers only requests addressed to this machine by a loopback name. A web page the
// developer visits could otherwise point its own host name at 127.0.0.1 (DNS rebinding) and,
// being same-origin with it, mint tokens at /local/token and drive the API. The Host header is
// what such a page cannot choose: it carries the page's host name, never a loopback one.
import fp from 'fastify-plugin';
import { isLoopbackHost } from '../shared/urlRules.js';
import { HttpProblem } from '../http/httpProblem.js';

/** Whether a Host header value names this machine: localhost, *.localhost, 127.x.x.x or [::1], any port. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  if (!match) return false;
  const name = match[1]!.replace(/\.$/, '');
  return name === '[::1]' || name === 'localhost' || name.endsWith('.localhost') || (isLoopbackHost(name) && name !== '::1');
}

export default fp(async function loopbackHostOnly(app) {
  app.addHook('onRequest', async (request) => {
    if (!isLoopbackHostHeader(request.headers.host)) {
      throw new HttpProblem(421, 'host_not_allowed',
        'Local mode answers only requests addressed to localhost, *.localhost, 127.x.x.x or [::1] (the Host header): a page of another site cannot use it.');
    }
  });
}, { name: 'loopback-host-only' });
