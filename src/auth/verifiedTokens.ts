// Tokens this process has verified, and who their caller is: a client's next requests with the
// same token skip the decoding, the issuer's checks, the key lookup and the signature check, among the dearest
// parts of a warm request (bench/RESULTS.md, 2026-11-27 (later)). An entry holds only while
// the token itself would pass again: within its nbf/exp (with the clock tolerance), for at
// most CACHE_TTL_MS (as fast-jwt's own cache), and while the very key that verified it is
// still the issuer's cached key under its kid (a withdrawn or replaced key stops verifying, as
// for an uncached token).
// Entries are found by the token's SHA-256, as fast-jwt's were: tokens are not stored. They are
// bounded in number and in bytes (a caller of another issuer may carry a long subject).
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Caller } from './caller.js';
import type { CachedKeyRef, KeyReference, SigningKeys } from './signingKeys.js';

/** Entries kept; beyond, the least recently used goes. */
const MAX_ENTRIES = 10_000;
/** The bytes they may take, as estimated by entryBytes. */
const MAX_BYTES = 8 * 1024 * 1024;
/** An entry's own objects and its key (the digest), beside its caller's text. */
const ENTRY_OVERHEAD_BYTES = 400;
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

/** What a token is found by, here and in RefusedTokens: its SHA-256. */
export const tokenDigest = (token: string) => hash('sha256', token, 'base64url');

/** An entry's size: its caller's user key and the parts it is made of, two bytes a character at most. */
const entryBytes = (entry: Entry) => ENTRY_OVERHEAD_BYTES + 4 * entry.user.userKey.length;

export class VerifiedTokens {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES, maxSize: MAX_BYTES, sizeCalculation: entryBytes });

  /** `now`: the clock (tests give one of their own). */
  constructor(private readonly signingKeys: SigningKeys, private readonly clockToleranceMs: number, private readonly now: () => number = Date.now) {}

  /** The caller of the token whose digest is `id` if it was verified here and would pass again now. */
  get(id: string): Caller | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (now >= entry.notBeforeMs && now <= entry.notAfterMs && this.signingKeys.cachedKey(entry.keyCacheKey) === entry.jwk) return entry.user;
    this.entries.delete(id);
    return undefined;
  }

  /** Remembers the token whose digest is `id`, which passed every check, with its claims' time bounds. */
  set(id: string, user: Caller, payload: Record<string, unknown>, key: KeyReference): void {
    const now = this.now();
    const notBeforeMs = typeof payload.nbf === 'number' ? payload.nbf * 1000 - this.clockToleranceMs : 0;
    let notAfterMs = now + CACHE_TTL_MS;
    if (typeof payload.exp === 'number') notAfterMs = Math.min(notAfterMs, payload.exp * 1000 + this.clockToleranceMs);
    const keyCacheKey = this.signingKeys.cacheKeyOf(key);
    const jwk = this.signingKeys.cachedKey(keyCacheKey);
    if (jwk === undefined) return;
    this.entries.set(id, { user, notBeforeMs, notAfterMs, keyCacheKey, jwk });
  }
}
