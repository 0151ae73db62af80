// Rate limits: per client IP before authentication, so that a flood of bad tokens is refused
// cheaply, and per user (the user key) after it. With REDIS_URL @fastify/rate-limit counts them,
// shared by all replicas; without it each process counts alone (localWindowCounts, the same
// windows and headers). When Redis is down the limits fail open (requests pass), and the
// rate_limit_store_up metric says so.
// Apart from them, each user's budget of ACS calls (acsCallBudget): ACS's quota belongs to the
// resource, so a few users must not spend it for everyone. It never fails open: while Redis is
// down each process counts alone.
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';
import type { Config } from '../config/index.js';
import { HttpProblem } from '../http/httpProblem.js';
import type { AcsCallBudget } from '../identities/acsCallBudget.js';
import { LocalWindowCounts } from './localWindowCounts.js';

declare module 'fastify' {
  interface FastifyInstance {
    // Both take a callback, so that a caller perIp exempts, or one counted in this process,
    // costs no promise (with Redis, @fastify/rate-limit's hooks are called and awaited).
    rateLimitHooks: { perIp: onRequestHookHandler; perUser: onRequestHookHandler };
    acsCallBudget: AcsCallBudget;
  }
}

/** The window of the ACS-call budget (ACS_CALLS_PER_USER_PER_MINUTE). */
const BUDGET_WINDOW_MS = 60_000;

/** How long a starting replica waits for Redis before it starts with the limits open. */
const STARTUP_WAIT_MS = 2000;

/** Client addresses, and users, whose count a replica keeps without Redis (@fastify/rate-limit's own default). */
const LOCAL_KEYS = 5000;

/** The 429 of both limits. */
const rateLimited = (ttlMs: number) => {
  const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new HttpProblem(429, 'rate_limited', `Too many requests; retry in ${retryAfterSeconds} s.`, { retryAfterSeconds });
};

/**
 * Counts a request of `key` in this process, with the headers @fastify/rate-limit gives (the
 * draft specification's names): the 429 to refuse it with when it is over `max`, else undefined.
 */
export function countLocally(counts: LocalWindowCounts, key: string, max: number, reply: FastifyReply): HttpProblem | undefined {
  const { count, ttlMs } = counts.increment(key, Date.now());
  reply.header('ratelimit-limit', max).header('ratelimit-remaining', Math.max(0, max - count)).header('ratelimit-reset', Math.ceil(ttlMs / 1000));
  return count <= max ? undefined : rateLimited(ttlMs);
}

/** A client's address as both limits and the request log count it: IPv6 by its /64. */
export const clientAddress = (ip: string) => (ip.includes(':') ? normalizeIP(ip, 64) : ip.toLowerCase());

export default fp(async function rateLimits(app, { config }: { config: Config['rateLimits'] }) {
  let redis: Redis | undefined;
  if (config.redisUrl) {
    // Loaded only when Redis is configured: a replica counting alone never needs the client.
    const { Redis } = await import('ioredis');
    redis = new Redis(config.redisUrl, {
      // Fail fast instead of queueing while Redis is away: the limits then fail open.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      // A silent Redis must cost a request little: the limits then fail open. Not much below
      // this: a busy replica's event loop alone delays answers, and a healthy Redis must not
      // look silent.
      commandTimeout: 250,
      lazyConnect: false,
    });
    const storeUp = app.metrics.rateLimitStoreUp;
    storeUp.set(0);
    redis.on('ready', () => storeUp.set(1));
    let warned = false;
    redis.on('error', (error: Error) => {
      storeUp.set(0);
      if (!warned) app.log.warn({ err: error }, 'rate-limit store (Redis) unreachable: limits fail open until it is back');
      warned = true;
    });
    redis.on('ready', () => { warned = false; });
    app.addHook('onClose', async () => { redis!.disconnect(); });
    // Start counting in Redis from the first request: wait (bounded) for the connection, so a
    // replica that has just started does not let its first requests pass uncounted. A Redis
    // that refuses the connection ends the wait at once: the limits then start open.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, STARTUP_WAIT_MS);
      function done(): void { clearTimeout(timer); redis!.off('ready', done); redis!.off('error', done); resolve(); }
      redis!.once('ready', done);
      redis!.once('error', done);
    });
  }

  const localOptions = {
    global: false,
    timeWindow: config.windowSeconds * 1000,
    nameSpace: config.redisPrefix,
    skipOnError: true,
    enableDraftSpec: true,
    errorResponseBuilder: (_request: unknown, context: { ttl: number }) => rateLimited(context.ttl),
  };
  const options = { ...localOptions, ...(redis ? { redis } : {}) };
  // @fastify/rate-limit runs one of its hooks per request and registration: two limits on one
  // route need two registrations, so each lives in a context of its own.
  type Request = Parameters<onRequestAsyncHookHandler>[0];
  const limit = async (name: 'ip' | 'user', max: number, key: (request: Request) => string) => {
    let hook: onRequestAsyncHookHandler | undefined;
    await app.register(async (scope) => {
      await scope.register(rateLimit, options);
      hook = scope.rateLimit({ max, keyGenerator: key, onExceeded: () => app.metrics.rateLimited.inc({ limit: name }) });
    });
    return hook!;
  };
  // Remembered per caller, which authentication keeps for as long as the token is cached.
  // A plain digest, not the audit HMAC: every replica must derive the same key, with or
  // without a shared AUDIT_HASH_KEY; the store never sees the clear user key.
  const userDigests = new WeakMap<object, string>();
  const userDigest = (request: Request) => {
    let digest = userDigests.get(request.user);
    if (digest === undefined) {
      digest = createHash('sha256').update(request.user.userKey).digest('base64url');
      userDigests.set(request.user, digest);
    }
    return digest;
  };
  // IPv6 clients by their /64, as one subscriber usually gets a whole /64.
  const ipKey = (request: Request) => `ip:${clientAddress(request.ip)}`;
  /**
   * A limit's hook: with Redis, @fastify/rate-limit's, awaited; counting alone, the same limit
   * counted here, without a promise and its microtask per request.
   */
  const limitHook = async (name: 'ip' | 'user', label: string, max: number, key: (request: Request) => string): Promise<onRequestHookHandler> => {
    if (redis) {
      const shared = await limit(name, max, key);
      return function (request, reply, done) {
        shared.call(this, request, reply).then(() => done(), (error: unknown) => done(error instanceof Error ? error : new Error(`the ${label} limit failed`)));
      };
    }
    const counts = new LocalWindowCounts(config.windowSeconds * 1000, LOCAL_KEYS);
    return (request, reply, done) => {
      const refusal = countLocally(counts, key(request), max, reply);
      if (refusal) app.metrics.rateLimited.inc({ limit: name });
      done(refusal);
    };
  };
  const countIp = await limitHook('ip', 'per-IP', config.ipMax, ipKey);
  app.decorate('rateLimitHooks', {
    // Not for a token already verified here (recogniseVerifiedToken set the user): a flood
    // from a shared address must not lock out the users behind it; their own budget applies.
    // Such a caller (most requests) skips the limiter before it works out a key or a promise.
    perIp(request, reply, done) {
      if (request.user) {
        done();
        return;
      }
      countIp.call(this, request, reply, done);
    },
    // Every request of a user (the warm path).
    perUser: await limitHook('user', 'per-user', config.userMax, (request) => `user:${userDigest(request)}`),
  });

  // The budget counts without a hook: a handler asks just before it calls ACS (a token served
  // again costs nothing). In Redis when it answers, else in this process.
  const budget = async (withRedis: boolean) => {
    let counter: ReturnType<FastifyInstance['createRateLimit']> | undefined;
    await app.register(async (scope) => {
      await scope.register(rateLimit, withRedis ? options : localOptions);
      counter = scope.createRateLimit({
        max: config.acsCallsPerUserPerMinute, timeWindow: BUDGET_WINDOW_MS, keyGenerator: (request) => `acs:${userDigest(request)}`, skipOnError: false,
      });
    });
    return counter!;
  };
  const shared = redis ? await budget(true) : undefined;
  const local = await budget(false);
  app.decorate('acsCallBudget', { spend: async (caller, operation) => {
    // The counters take a request: they read our key (the user) and a route's groupId (none).
    const request = { user: caller, routeOptions: {} } as unknown as FastifyRequest;
    const counted = shared ? await shared(request).catch(() => local(request)) : await local(request);
    if (counted.isAllowed || !counted.isExceeded) return;
    app.metrics.acsCallBudgetRefusals.inc({ operation });
    const retryAfterSeconds = Math.max(1, counted.ttlInSeconds);
    throw new HttpProblem(429, 'acs_call_budget_exceeded', `This user has made too many ACS calls (creating, issuing, revoking, deleting, exchanging Teams tokens); retry in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  } } satisfies AcsCallBudget);
}, { name: 'rate-limits', dependencies: ['metrics', 'authentication'], decorators: { fastify: ['metrics'], request: ['user'] } });
