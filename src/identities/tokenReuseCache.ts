// ACS tokens issued recently, per process, served again to the same identity for the same
// scopes: a storm of page reloads then costs ACS nothing, and so does asking for ever other
// lifetimes (61, 62, 63… minutes). The identity's latest token is served for any lifetime it
// does not outlive: it expires no later than a token ACS would issue now for the lifetime
// asked (a client may get a shorter one, never a longer one). A shorter lifetime than its own
// gets a new token, which then takes its place; its lifetime is rounded down to whole hours, so
// that falling lifetimes (1440, 1439, 1438…) cost one ACS call an hour of lifetime, not one a
// request. A token is reused only while it is young
// (ACS_TOKEN_REUSE_SECONDS), far from expiry, and issued after the identity's last revocation
// (read from the mapping row, so any replica's revocation counts).
// Concurrent misses for the same identity, scopes and lifetime share one ACS call (a user's
// burst of first requests would otherwise spend their ACS-call budget at once).
// That last check uses the database's clock alone: a token remembers when the mapping row was
// read before ACS issued it (the database's now()), and the revocation's time is the
// database's now() too. A replica's own clock, however wrong, cannot make a revoked token look
// newer than its revocation.
// The bound is in bytes too (MAX_BYTES), so that the cache's memory is known whatever the tokens'
// size; a token over MAX_TOKEN_BYTES is not kept.
import { LRUCache } from 'lru-cache';
import type { AcsScope } from '../acs/acsScopes.js';

interface IssuedToken {
  token: string;
  expiresOn: Date;
}

interface CachedToken {
  token: string;
  expiresOn: Date;
  /** expiresOn in ISO 8601, as answered: formatted once, not for every request it serves. */
  expiresOnIso: string;
  lifetimeMinutes: number;
  /** This replica's clock when ACS's answer had arrived: the token was issued before. */
  receivedAt: number;
  /** The database's clock when the mapping was read, before ACS issued the token. */
  readAt: Date;
}

const MAX_ENTRIES = 20_000;
const MAX_BYTES = 24 * 1024 * 1024;
const MAX_TOKEN_BYTES = 16 * 1024;
/**
 * An entry's own object, its two Dates and number, its expiry as an ISO string, its key's parts
 * (the identity's id it keeps alive) and lru-cache's slots, besides the token and the key's
 * length, as V8's heap holds them.
 */
const ENTRY_OVERHEAD_BYTES = 500;
// A reused token must still have this long to live.
const MIN_REMAINING_MS = 10 * 60 * 1000;
const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;

/** Scopes in any order, as one string. */
const scopesKey = (scopes: readonly AcsScope[]) => [...scopes].sort().join(',');

export class TokenReuseCache {
  private readonly entries = new LRUCache<string, CachedToken>({
    max: MAX_ENTRIES,
    maxSize: MAX_BYTES,
    // Tokens, ids and scopes are ASCII: a character is a byte.
    maxEntrySize: MAX_TOKEN_BYTES + ENTRY_OVERHEAD_BYTES,
    sizeCalculation: (entry, key) => key.length + entry.token.length + ENTRY_OVERHEAD_BYTES,
  });
  private readonly issuing = new Map<string, { readAt: Date; promise: Promise<IssuedToken> }>();

  /** The key's part for the configured default scopes (most requests' scopes: that very array). */
  private readonly defaultScopesKey: string;

  constructor(
    private readonly reuseMs: number,
    private readonly now: () => number = Date.now,
    private readonly defaultScopes: readonly AcsScope[] = [],
  ) {
    this.defaultScopesKey = scopesKey(defaultScopes);
  }

  private key(acsUserId: string, scopes: readonly AcsScope[]): string {
    return `${acsUserId}|${scopes === this.defaultScopes ? this.defaultScopesKey : scopesKey(scopes)}`;
  }

  /**
   * The lifetime to ask ACS for when `minutes` were asked: whole hours (ACS's least lifetime is
   * one), so one token serves every longer request; exactly `minutes` when reuse is off.
   */
  lifetimeToIssue(minutes: number): number {
    return this.reuseMs <= 0 ? minutes : Math.max(HOUR_MINUTES, Math.floor(minutes / HOUR_MINUTES) * HOUR_MINUTES);
  }

  /** A token to serve again for `minutes` of lifetime, if one may be. */
  get(acsUserId: string, scopes: AcsScope[], minutes: number, revokedAt: Date | null): CachedToken | undefined {
    if (this.reuseMs <= 0) return undefined;
    const key = this.key(acsUserId, scopes);
    // Read without making it recent: the entry set longest ago goes first, as issued tokens age.
    const entry = this.entries.peek(key);
    if (!entry) return undefined;
    const now = this.now();
    const fresh = now - entry.receivedAt < this.reuseMs && entry.expiresOn.getTime() - now > MIN_REMAINING_MS;
    // The revocation was stored after ACS revoked; a read that began after it, before the token.
    const afterRevocation = revokedAt === null || entry.readAt > revokedAt;
    if (!fresh || !afterRevocation) {
      this.entries.delete(key);
      return undefined;
    }
    // Issued before receivedAt with its own lifetime: it expires no later than receivedAt plus
    // that lifetime. Both sides are durations on this replica's clock, so its offset cancels.
    const outlives = entry.receivedAt + entry.lifetimeMinutes * MINUTE_MS > now + minutes * MINUTE_MS;
    return outlives ? undefined : entry;
  }

  /**
   * A new token from `issue`, remembered; or, when one for the same identity, scopes and
   * lifetime is being issued already (after the identity's last revocation), that one's
   * outcome. `shared` says which.
   */
  async issueOnce(
    acsUserId: string, scopes: AcsScope[], minutes: number, identity: { readAt: Date; tokensRevokedAt: Date | null }, issue: () => Promise<IssuedToken>,
  ): Promise<{ issued: IssuedToken; shared: boolean }> {
    if (this.reuseMs <= 0) return { issued: await issue(), shared: false };
    const key = `${this.key(acsUserId, scopes)}|${minutes}`;
    const pending = this.issuing.get(key);
    if (pending && (identity.tokensRevokedAt === null || pending.readAt > identity.tokensRevokedAt)) {
      return { issued: await pending.promise, shared: true };
    }
    const promise = issue();
    const own = { readAt: identity.readAt, promise };
    this.issuing.set(key, own);
    try {
      const issued = await promise;
      this.set(acsUserId, scopes, minutes, issued, identity.readAt);
      return { issued, shared: false };
    } finally {
      if (this.issuing.get(key) === own) this.issuing.delete(key);
    }
  }

  /** Remembers a token ACS has just issued for `minutes`, after a mapping read at `readAt`. */
  set(acsUserId: string, scopes: AcsScope[], minutes: number, token: IssuedToken, readAt: Date): void {
    if (this.reuseMs <= 0) return;
    // Set again, a key is the newest; a token over MAX_TOKEN_BYTES is not kept (nor the older one).
    this.entries.set(this.key(acsUserId, scopes), { token: token.token, expiresOn: token.expiresOn, expiresOnIso: token.expiresOn.toISOString(), lifetimeMinutes: minutes, receivedAt: this.now(), readAt });
  }
}
