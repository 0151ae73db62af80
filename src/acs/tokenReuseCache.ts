// ACS tokens issued recently, per process, served again to the same identity for the same
// scopes and lifetime: a storm of page reloads then costs ACS nothing. A token is reused only
// while it is young (ACS_TOKEN_REUSE_SECONDS), far from expiry, and issued after the
// identity's last revocation (read from the mapping row, so any replica's revocation counts).
// That last check uses the database's clock alone: a token remembers when the mapping row was
// read before ACS issued it (the database's now()), and the revocation's time is the
// database's now() too. A replica's own clock, however wrong, cannot make a revoked token look
// newer than its revocation.
import type { AcsScope } from './acsScopes.js';

interface CachedToken {
  token: string;
  expiresOn: Date;
  /** This replica's clock when it asked ACS: how young the token is. */
  issuedAt: number;
  /** The database's clock when the mapping was read, before ACS issued the token. */
  readAt: Date;
}

const MAX_ENTRIES = 50_000;
// A reused token must still have this long to live.
const MIN_REMAINING_MS = 10 * 60 * 1000;

export class TokenReuseCache {
  private readonly entries = new Map<string, CachedToken>();

  constructor(private readonly reuseMs: number, private readonly now: () => number = Date.now) {}

  private key(acsUserId: string, scopes: AcsScope[], minutes: number): string {
    return `${acsUserId}|${[...scopes].sort().join(',')}|${minutes}`;
  }

  get(acsUserId: string, scopes: AcsScope[], minutes: number, revokedAt: Date | null): CachedToken | undefined {
    if (this.reuseMs <= 0) return undefined;
    const key = this.key(acsUserId, scopes, minutes);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    const fresh = now - entry.issuedAt < this.reuseMs && entry.expiresOn.getTime() - now > MIN_REMAINING_MS;
    // The revocation was stored after ACS revoked; a read that began after it, before the token.
    const afterRevocation = revokedAt === null || entry.readAt > revokedAt;
    if (fresh && afterRevocation) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(acsUserId: string, scopes: AcsScope[], minutes: number, token: { token: string; expiresOn: Date }, issuedAt: number, readAt: Date): void {
    if (this.reuseMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(this.key(acsUserId, scopes, minutes), { token: token.token, expiresOn: token.expiresOn, issuedAt, readAt });
  }
}
