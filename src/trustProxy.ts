// TRUST_PROXY as Fastify's trustProxy: which connections may name the client in
// X-Forwarded-For, and so choose request.ip, the key of the per-IP rate limit and of the
// budget of log lines.

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
