// Teams tokens obtained on a user's behalf, per process, served again to the same user for the
// same scopes: the caller's own token changes at every refresh, the user does not, so the key is
// (the caller's user key, scopes), never the caller's token (which made MSAL's cache grow with
// every refresh and never serve it). A token is served again only while it is young (REUSE_MS) and
// far from expiry (the ACS token lives as long as it); at most `maxEntries` are kept, the least
// recently used going first. The bound is in bytes too, so that its memory does not depend on
// how large tokens are (a token with many claims is several times the usual size): at most
// ENTRY_BYTES per entry on average, and a token over MAX_TOKEN_BYTES is not kept.
import { LRUCache } from 'lru-cache';
import type { Caller } from '../auth/caller.js';

/** How long a Teams token may be served again after Entra ID issued it. */
const REUSE_MS = 5 * 60 * 1000;
/** A Teams token served again must still have this long to live. */
const MIN_REMAINING_MS = 30 * 60 * 1000;
/** The bytes an entry may take on average: a usual Teams token, its key and the entry itself. */
const ENTRY_BYTES = 4 * 1024;
const MAX_TOKEN_BYTES = 16 * 1024;
/** An entry's own object and numbers, besides its strings. */
const ENTRY_OVERHEAD_BYTES = 100;

interface Entry {
  token: string;
  obtainedAt: number;
  expiresAt: number;
}

export class TeamsTokenCache {
  /** Undefined when the bound is 0: nothing is kept. */
  private readonly entries: LRUCache<string, Entry> | undefined;

  /** `now`: the clock (tests give one of their own). */
  constructor(maxEntries: number, private readonly now: () => number = Date.now) {
    this.entries = maxEntries <= 0 ? undefined : new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxEntries * ENTRY_BYTES,
      // Tokens and keys are ASCII: a character is a byte.
      // Never above the whole bound: lru-cache miscounts an entry larger than it.
      maxEntrySize: Math.min(MAX_TOKEN_BYTES + ENTRY_OVERHEAD_BYTES, maxEntries * ENTRY_BYTES),
      sizeCalculation: (entry, key) => key.length + entry.token.length + ENTRY_OVERHEAD_BYTES,
    });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  private key(user: Caller, scopes: readonly string[]): string {
    return `${user.userKey}|${[...scopes].sort().join(' ')}`;
  }

  get(user: Caller, scopes: readonly string[]): string | undefined {
    const key = this.key(user, scopes);
    // Read, it is the most recently used.
    const entry = this.entries?.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now - entry.obtainedAt >= REUSE_MS || entry.expiresAt - now < MIN_REMAINING_MS) {
      this.entries!.delete(key);
      return undefined;
    }
    return entry.token;
  }

  /** Keeps `token`, obtained now, for `user`; one that would never be served again is not kept. */
  set(user: Caller, scopes: readonly string[], token: string, expiresAt: number): void {
    const now = this.now();
    if (!this.entries || expiresAt - now < MIN_REMAINING_MS) return;
    // A token over MAX_TOKEN_BYTES is not kept, and the user's older one is dropped.
    this.entries.set(this.key(user, scopes), { token, obtainedAt: now, expiresAt });
  }
}
