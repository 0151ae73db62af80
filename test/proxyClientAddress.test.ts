// The client IP behind a real reverse proxy (Debian's nginx): the per-IP rate limit must count
// each client apart, whatever X-Forwarded-For a client sends itself. The service listens on a
// loopback port; clients connect from distinct loopback addresses (Linux routes all of 127/8
// to lo), through nginx or directly.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { nginxMissing, startNginxProxy } from './helpers/nginxProxy.js';
import { startTestService } from './helpers/testService.js';

// A small budget and no token: each request is a 401 until the client's IP budget is spent.
const IP_MAX = 3;
const SPENT = [...Array<number>(IP_MAX).fill(401), 429];

interface Tap {
  teardown(fn: () => unknown): void;
}

/**
 * The service on a real port with this TRUST_PROXY (given the address nginx connects from),
 * and nginx in front of it; with `proxies: 2`, a second nginx in front of the first.
 */
async function serviceBehindNginx(t: Tap, trustProxy: (nginxAddress: string) => string | undefined, { proxies = 1 } = {}) {
  const NGINX_ADDRESS = '127.0.0.10';
  const setting = trustProxy(NGINX_ADDRESS);
  const svc = await startTestService(t, { RATE_LIMIT_IP_MAX: String(IP_MAX), ...(setting === undefined ? {} : { TRUST_PROXY: setting }) });
  await svc.app.listen({ host: '127.0.0.1', port: 0 });
  const servicePort = (svc.app.server.address() as AddressInfo).port;
  let nginx = await startNginxProxy(t, servicePort, NGINX_ADDRESS);
  if (proxies === 2) nginx = await startNginxProxy(t, nginx.port, '127.0.0.11');
  /** GET /api/token without a token, from `from`: through nginx, or straight to the service. */
  const call = (from: string, { direct = false, forwardedFor }: { direct?: boolean; forwardedFor?: string } = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: direct ? servicePort : nginx.port, localAddress: from, path: '/api/token', method: 'GET',
        headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        agent: false,
      }, (res) => { res.resume(); res.once('end', () => resolve(res.statusCode!)); });
      req.once('error', reject);
      req.end();
    });
  /** IP_MAX + 1 calls from `from`: SPENT when they all count against one budget. */
  const exhaust = async (from: string, options?: Parameters<typeof call>[1]) => {
    const statuses: number[] = [];
    for (let i = 0; i <= IP_MAX; i++) statuses.push(await call(from, options));
    return statuses;
  };
  return { call, exhaust };
}

type Clients = Awaited<ReturnType<typeof serviceBehindNginx>>;

/** What every trusting form must give behind nginx: one budget per client, not per claim. */
async function clientsBehindNginxAreApart(t: Test, { call, exhaust }: Clients) {
  await t.test('two clients behind nginx have budgets of their own', async (t) => {
    t.same(await exhaust('127.0.0.2'), SPENT, '127.0.0.2 spends its own budget: 401s, then 429');
    t.equal(await call('127.0.0.3'), 401, 'the other client is not limited');
  });
  await t.test('a client\'s own X-Forwarded-For does not move it into another client\'s bucket', async (t) => {
    t.same(await exhaust('127.0.0.4', { forwardedFor: '127.0.0.5' }), SPENT, '127.0.0.4 spends its own budget: 401s, then 429');
    t.equal(await call('127.0.0.5'), 401, 'the client it named was charged nothing');
  });
}

if (nginxMissing) {
  t.test('per-client rate limits behind nginx', { skip: nginxMissing }, () => {});
} else {
  t.test('TRUST_PROXY = the proxy\'s address (the recommended form)', async (t) => {
    const { call, exhaust } = await serviceBehindNginx(t, (nginx) => `${nginx}, ::1`);
    await clientsBehindNginxAreApart(t, { call, exhaust });

    await t.test('a client reaching the service directly is counted by its own address, whatever it forwards', async (t) => {
      t.same(await exhaust('127.0.0.6', { direct: true, forwardedFor: '127.0.0.7' }), SPENT, '127.0.0.6 spends its own budget: 401s, then 429');
      t.equal(await call('127.0.0.7'), 401, 'the client it named was charged nothing');
      t.equal(await call('127.0.0.6', { direct: true, forwardedFor: '127.0.0.8' }), 429, 'another forged name does not help either');
    });
  });

  t.test('TRUST_PROXY = 1 (one hop, for pods that only the proxy can reach)', async (t) => {
    const { call, exhaust } = await serviceBehindNginx(t, () => '1');
    await clientsBehindNginxAreApart(t, { call, exhaust });

    // Why hops are safe only where nothing but the proxy reaches the service (the NetworkPolicy).
    await t.test('a client reaching the service directly is taken for a proxy: it names its own address', async (t) => {
      t.same(await exhaust('127.0.0.6', { direct: true, forwardedFor: '127.0.0.7' }), SPENT, '127.0.0.6 spends the budget of the address it names: 401s, then 429');
      t.equal(await call('127.0.0.7', { direct: true }), 429, 'the address it named is the one charged');
    });
  });

  t.test('TRUST_PROXY = 2 (two proxies in a row, e.g. a CDN and the ingress)', async (t) => {
    const { call, exhaust } = await serviceBehindNginx(t, () => '2', { proxies: 2 });
    t.same(await exhaust('127.0.0.2', { forwardedFor: '127.0.0.3' }), SPENT, '127.0.0.2 spends its own budget: 401s, then 429');
    t.equal(await call('127.0.0.3'), 401, 'the client it named was charged nothing');
  });

  t.test('TRUST_PROXY unset: everyone behind the proxy shares the proxy\'s bucket', async (t) => {
    const { call, exhaust } = await serviceBehindNginx(t, () => undefined);
    t.same(await exhaust('127.0.0.2'), SPENT, '127.0.0.2 spends its own budget: 401s, then 429');
    t.equal(await call('127.0.0.3'), 429, 'another client behind nginx is limited too');
    t.equal(await call('127.0.0.4', { direct: true }), 401, 'a client connecting directly has its own');
  });
}
