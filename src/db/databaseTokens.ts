// The database password with DATABASE_AUTH=entra: a Microsoft Entra access token for Azure
// Database for PostgreSQL. One token serves every new connection until it nears its expiry; it
// is then renewed in the background while still good, and a connection never gets one about to
// expire. Asking is bounded: a failure fails that connection only, and the next one asks again.
import type { AccessToken, TokenCredential } from '@azure/identity';

/** The scope of Azure Database for PostgreSQL's Entra tokens. */
export const DATABASE_TOKEN_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

// Renewed from this long before its expiry (from half its life if that is shorter)…
const RENEW_BEFORE_MS = 5 * 60_000;
// …and no longer handed to a new connection this close to it (a quarter of its life if shorter):
// the server checks the expiry when the connection signs in, by a clock of its own.
const RETIRE_BEFORE_MS = 60_000;

export class DatabaseTokenError extends Error {}

interface HeldToken {
  value: string;
  expiresAt: number;
  renewAt: number;
  retireAt: number;
}

export class DatabaseTokens {
  private credential: TokenCredential | undefined;
  private token: HeldToken | undefined;
  private asking: Promise<string> | undefined;

  constructor(
    /** Made at the first connection: @azure/identity is loaded only then. */
    private readonly makeCredential: () => TokenCredential,
    /** Bound on one request for a token. */
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The password of a new connection. */
  async password(): Promise<string> {
    const token = this.token;
    const now = this.now();
    if (token && now < token.retireAt) {
      // Failures of a background renewal surface at the first connection that needs the new token.
      if (now >= token.renewAt) this.renew().catch(() => undefined);
      return token.value;
    }
    return this.renew();
  }

  /** One request at a time, shared by every connection waiting for it. */
  private renew(): Promise<string> {
    this.asking ??= this.ask().finally(() => { this.asking = undefined; });
    return this.asking;
  }

  private async ask(): Promise<string> {
    const asked = this.now();
    let timer: NodeJS.Timeout | undefined;
    let answer: AccessToken | null;
    try {
      this.credential ??= this.makeCredential();
      // The credential may not honour the abort signal: the timer bounds the wait regardless.
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      answer = await Promise.race([this.credential.getToken(DATABASE_TOKEN_SCOPE, { abortSignal: AbortSignal.timeout(this.timeoutMs) }), timedOut]);
      if (!answer) throw new Error('the credential gave no token');
    } catch (error) {
      throw new DatabaseTokenError(`No Microsoft Entra token for the database (DATABASE_AUTH=entra): ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    const expiresAt = answer.expiresOnTimestamp;
    const life = Math.max(0, expiresAt - asked);
    const renewAt = Math.min(answer.refreshAfterTimestamp ?? Infinity, expiresAt - Math.min(RENEW_BEFORE_MS, life / 2));
    const token = { value: answer.token, expiresAt, renewAt, retireAt: expiresAt - Math.min(RETIRE_BEFORE_MS, life / 4) };
    // A late answer never replaces a token that lasts longer.
    if (!this.token || this.token.expiresAt <= token.expiresAt) this.token = token;
    return token.value;
  }
}
