// Teams tokens obtained on a user's behalf, per process, served again to the same user for the
// same scopes: the caller's own token changes at every refresh, the user does not, so the key is
// (the caller's user key, scopes), never the caller's token (which made MSAL's cache grow with
// every refresh and never serve it). A token is served again only while it is young (REUSE_MS) and
// far from expiry (the ACS token lives as long as it); at most `maxEntries` are kept, the least
// recently used going first.
import type { Caller } from '../auth/caller.js';

/** How long a Teams token may be served again after Entra ID issued it. */
const REUSE_MS = 5 * 60 * 1000;
/** A Teams token served again must still have this long to live. */
const MIN_REMAINING_MS = 30 * 60 * 1000;

interface Entry {
  token: string;
  obtainedAt: number;
  expiresAt: number;
}

export class TeamsTokenCache {
  private readonly entries = new Map<string, Entry>();

  /** `now`: the clock (tests give one of their own). */
  constructor(private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  private key(user: Caller, scopes: readonly string[]): string {
    return `${user.userKey}|${[...scopes].sort().join(' ')}`;
  }

  get(user: Caller, scopes: readonly string[]): string | undefined {
    const key = this.key(user, scopes);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const now = this.now();
    if (now - entry.obtainedAt >= REUSE_MS || entry.expiresAt - now < MIN_REMAINING_MS) return undefined;
    // Maps iterate in insertion order: set again, it is the most recently used.
    this.entries.set(key, entry);
    return entry.token;
  }

  /** Keeps `token`, obtained now, for `user`; one that would never be served again is not kept. */
  set(user: Caller, scopes: readonly string[], token: string, expiresAt: number): void {
    const now = this.now();
    if (this.maxEntries <= 0 || expiresAt - now < MIN_REMAINING_MS) return;
    const key = this.key(user, scopes);
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { token, obtainedAt: now, expiresAt });
  }
}
