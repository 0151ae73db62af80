// ACS tokens issued recently, per process, served again to the same identity for the same
// scopes and lifetime: a storm of page reloads then costs ACS nothing. A token is reused only
// while it is young (ACS_TOKEN_REUSE_SECONDS), far from expiry, and issued after the
// identity's last revocation (read from the mapping row, so any replica's revocation counts).
import type { AcsScope } from './acsScopes.js';

interface CachedToken {
  token: string;
  expiresOn: Date;
  issuedAt: number;
}

const MAX_ENTRIES = 50_000;
// Clocks of replicas and database differ a little: a token issued within this margin after a
// revocation is not reused.
const CLOCK_MARGIN_MS = 2000;
// A reused token must still have this long to live.
const MIN_REMAINING_MS = 10 * 60 * 1000;

export class TokenReuseCache {
  private readonly entries = new Map<string, CachedToken>();

  constructor(private readonly reuseMs: number) {}

  private key(acsUserId: string, scopes: AcsScope[], minutes: number): string {
    return `${acsUserId}|${[...scopes].sort().join(',')}|${minutes}`;
  }

  get(acsUserId: string, scopes: AcsScope[], minutes: number, revokedAt: Date | null): CachedToken | undefined {
    if (this.reuseMs <= 0) return undefined;
    const key = this.key(acsUserId, scopes, minutes);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    const fresh = now - entry.issuedAt < this.reuseMs && entry.expiresOn.getTime() - now > MIN_REMAINING_MS;
    const afterRevocation = revokedAt === null || entry.issuedAt > revokedAt.getTime() + CLOCK_MARGIN_MS;
    if (fresh && afterRevocation) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(acsUserId: string, scopes: AcsScope[], minutes: number, token: { token: string; expiresOn: Date }, issuedAt: number): void {
    if (this.reuseMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(this.key(acsUserId, scopes, minutes), { ...token, issuedAt });
  }
}
