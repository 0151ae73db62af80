// A circuit breaker for ACS: after `threshold` consecutive failures that mean "ACS is down"
// (timeouts, 5xx, no connection), calls fail at once for `cooldownMs` instead of each waiting
// for its timeout and piling up. Then one trial call is let through: success closes the
// circuit, failure opens it again. Per process.
export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  /** `now`: the clock (tests give one of their own). */
  constructor(private readonly threshold: number, private readonly cooldownMs: number, private readonly now: () => number = Date.now) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** Seconds until a call may go through again (0 when it may now). */
  get retryAfterSeconds(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(1, Math.ceil((this.openedAt + this.cooldownMs - this.now()) / 1000));
  }

  /** Whether a call may go to ACS now; in half-open state, only one trial at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failed(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.failures >= this.threshold || this.openedAt !== undefined) this.openedAt = this.now();
  }
}
