// Tokens whose signature this process found false, so that a client repeating a forged token
// costs a hash and a lookup, not another signature check (docs/security.md, "Refused tokens
// remembered"). Only that refusal is remembered, and only against a key the service holds: a
// hit still requires that very key to be the issuer's cached key under its kid (as for
// VerifiedTokens). The same bytes checked against the same key give the same answer, so no
// valid token can be refused from here. An unknown kid, a token not valid yet, keys that could
// not be read: all may pass later, and are never remembered.
// Entries are found by the token's SHA-256 (tokens are not stored) and are all the same size,
// so their number bounds the memory they take.
import { LRUCache } from 'lru-cache';
import type { CachedKeyRef, SigningKeys, VerificationKey } from './signingKeys.js';

/** Entries kept; beyond, the least recently used goes. */
const MAX_ENTRIES = 10_000;

interface Entry {
  /** Where the key that refused it is cached. */
  cached: CachedKeyRef;
  /** That key (the cached JWK object). */
  jwk: object;
}

export class RefusedTokens {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES });

  constructor(private readonly signingKeys: SigningKeys) {}

  /** True when `digest`'s token was refused for its signature by the key still cached for it. */
  has(digest: string): boolean {
    const entry = this.entries.get(digest);
    if (entry === undefined) return false;
    if (this.signingKeys.cachedKey(entry.cached) === entry.jwk) return true;
    this.entries.delete(digest);
    return false;
  }

  /** Remembers that `key` found the signature of `digest`'s token false. */
  add(digest: string, key: VerificationKey): void {
    this.entries.set(digest, { cached: key.cached, jwk: key.jwk });
  }
}
