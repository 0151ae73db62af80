// The per-IP rate limit and an address that many users share (a NAT, or a proxy without
// TRUST_PROXY): a flood of bad requests from it spends its budget, but a user whose token this
// replica has already verified is not charged to the address, and keeps getting in.
import t from 'tap';
import { startTestService } from './helpers/testService.js';

t.test('a flood from a shared address does not lock out users whose tokens are already verified', async (t) => {
  // Everyone here comes from one address, as behind a NAT or a proxy without TRUST_PROXY.
  const svc = await startTestService(t, { RATE_LIMIT_IP_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60' });
  const alice = svc.userToken();
  t.equal((await svc.request({ url: '/api/user', token: alice })).statusCode, 404, 'alice, verified once');
  const flood: number[] = [];
  for (let i = 0; i < 8; i++) flood.push((await svc.request({ url: '/api/token', token: 'a.b.c' })).statusCode);
  t.same(flood, [401, 401, 401, 401, 429, 429, 429, 429], 'the flood spends the address\'s budget');
  for (let i = 0; i < 3; i++) t.equal((await svc.request({ url: '/api/user', token: alice })).statusCode, 404, 'alice still gets in');
  const fresh = await svc.request({ url: '/api/user', token: svc.userToken() });
  t.equal(fresh.statusCode, 429, 'a token not verified yet still counts against the address first (documented)');
});
