// Tokens this process has verified, and who their caller is: a client's next requests with the
// same token skip @fastify/jwt's decode, its callbacks and the key lookup, among the dearest
// parts of a warm request (bench/RESULTS.md, 2026-11-27 (later)). An entry holds only while
// the token itself would pass again: within its nbf/exp (with the clock tolerance), for at
// most CACHE_TTL_MS (as fast-jwt's own cache), and while the very key that verified it is
// still the issuer's cached key under its kid (a withdrawn or replaced key stops verifying, as
// for an uncached token).
// Entries are found by the token's SHA-256, as fast-jwt's were: tokens are not stored.
import { hash } from 'node:crypto';
import type { Caller } from './caller.js';
import type { CachedKeyRef, KeyReference, SigningKeys } from './signingKeys.js';

/** Entries kept; beyond, the oldest goes. */
const MAX_ENTRIES = 10_000;
/** A token is verified anew at least this often (fast-jwt's default cache TTL). */
const CACHE_TTL_MS = 600_000;


interface Entry {
  user: Caller;
  notBeforeMs: number;
  notAfterMs: number;
  /** Where the key that verified it is cached: worked out once, not per request with the token. */
  keyCacheKey: CachedKeyRef;
  /** The cached key object that verified it. */
  jwk: unknown;
}

const digest = (token: string) => hash('sha256', token, 'base64url');

export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  /** `now`: the clock (tests give one of their own). */
  constructor(private readonly signingKeys: SigningKeys, private readonly clockToleranceMs: number, private readonly now: () => number = Date.now) {}

  /** The caller of `token` if it was verified here and would pass again now; else undefined. */
  get(token: string): Caller | undefined {
    const id = digest(token);
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (now >= entry.notBeforeMs && now <= entry.notAfterMs && this.signingKeys.cachedKey(entry.keyCacheKey) === entry.jwk) return entry.user;
    this.entries.delete(id);
    return undefined;
  }

  /** Remembers a token that passed every check, with its claims' time bounds. */
  set(token: string, user: Caller, payload: Record<string, unknown>, key: KeyReference): void {
    const now = this.now();
    const notBeforeMs = typeof payload.nbf === 'number' ? payload.nbf * 1000 - this.clockToleranceMs : 0;
    let notAfterMs = now + CACHE_TTL_MS;
    if (typeof payload.exp === 'number') notAfterMs = Math.min(notAfterMs, payload.exp * 1000 + this.clockToleranceMs);
    const keyCacheKey = this.signingKeys.cacheKeyOf(key);
    const jwk = this.signingKeys.cachedKey(keyCacheKey);
    if (jwk === undefined) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(digest(token), { user, notBeforeMs, notAfterMs, keyCacheKey, jwk });
  }
}
