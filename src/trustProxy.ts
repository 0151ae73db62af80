// TRUST_PROXY as Fastify's trustProxy: which connections may name the client in
// X-Forwarded-For, and so choose request.ip, the key of the per-IP rate limit and of the
// budget of log lines.
import { isIP } from 'node:net';
import { Type } from 'typebox';
import { splitList } from './shared/commaList.js';

/**
 * false: none (request.ip is the connection's address). A list of proxy addresses and CIDR
 * ranges: only connections from those, so a client reaching the service any other way is
 * counted by its own address. A number of proxy hops: any connection, so safe only where
 * nothing but the proxy can reach the service (the NetworkPolicy).
 */
export type TrustProxySetting = false | string[] | number;

/** Fastify's trust function: is the address at `hop` (0: the connection's) a proxy? */
export type TrustProxyFunction = (address: string, hop: number) => boolean;

/** What Fastify's trustProxy option gets for this setting. */
export function fastifyTrustProxy(setting: TrustProxySetting): false | string[] | TrustProxyFunction {
  if (typeof setting !== 'number') return setting;
  // Fastify (5.12 and later) turns a number into "trust nothing", and request.ip is then the
  // proxy for every client; a function it does honour. The connection is hop 0 and the
  // X-Forwarded-For entries, from the right, hops 1, 2…: the first hop not trusted is the client.
  const hops = setting;
  return (_address, hop) => hop < hops;
}

export const trustProxySettingsSchema = Type.Object({
  TRUST_PROXY: Type.String({ default: 'false' }),
});

/** Why `entry` of TRUST_PROXY is not an IP address or CIDR range; undefined when it is one. */
function proxyAddressProblem(entry: string): string | undefined {
  const [address = '', prefix, ...more] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || more.length > 0) {
    return `TRUST_PROXY entry "${entry}" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)`;
  }
  const bits = family === 4 ? 32 : 128;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= bits)) {
    // A /0 would trust every address, as TRUST_PROXY=true would.
    return `TRUST_PROXY entry "${entry}" needs a prefix length from 1 to ${bits}`;
  }
  return undefined;
}

/** TRUST_PROXY: false, a number of proxy hops, or a list of proxy addresses/CIDRs (each checked). */
export function parseTrustProxy(value: string, problems: string[]): TrustProxySetting {
  if (value === 'false') return false;
  if (value === 'true') {
    // Trusting every hop lets a client pick its own IP: proxies append to X-Forwarded-For.
    problems.push('TRUST_PROXY=true would let clients choose their IP (proxies append to X-Forwarded-For): give the proxies\' addresses, or the number of proxy hops');
    return false;
  }
  if (/^\d+$/.test(value)) return Number(value) === 0 ? false : Number(value);
  const list = splitList(value);
  if (list.length === 0) problems.push('TRUST_PROXY must be false, a list of proxy addresses or a number of proxy hops');
  for (const entry of list) {
    const problem = proxyAddressProblem(entry);
    if (problem) problems.push(problem);
  }
  return list;
}
