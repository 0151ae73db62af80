// Tenant offboardings in the service's background: those started over the admin API, and those
// left running when the service starts (another replica's, or this one's before a restart). Each
// job is run by one worker at a time across replicas (TenantOffboardings.run holds the job's
// lease); the others wait, and take over if its worker dies. Closing stops after the batch under
// way, its progress committed.
import type { Logger } from '../identities/collaborators.js';
import type { OffboardingStatus, TenantOffboardings } from './tenantOffboarding.js';

/** How often the jobs under way are looked for again: a job a worker stopped (an error, a replica gone) is picked up. */
const SWEEP_INTERVAL_MS = 60_000;

export class OffboardingRunner {
  private readonly stop = new AbortController();
  private readonly runs = new Map<string, Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly offboardings: TenantOffboardings, private readonly log: Logger) {}

  /** Starts (or finds) the tenant's offboarding, and runs it here unless it is over. */
  async start(tenantId: string, requestedBy: string): Promise<{ job: OffboardingStatus; created: boolean }> {
    const started = await this.offboardings.start(tenantId, requestedBy);
    if (started.job.state === 'running') this.run(started.job.id);
    return started;
  }

  status(id: string): Promise<OffboardingStatus | undefined> {
    return this.offboardings.status(id);
  }

  /** Runs the job in the background, unless this process runs it already or is closing. */
  run(id: string): void {
    if (this.runs.has(id) || this.stop.signal.aborted) return;
    const { log } = this;
    const run = this.offboardings.run(id, {
      signal: this.stop.signal,
      onWaiting: () => log.info({ offboardingId: id }, 'tenant offboarding: another worker runs it; waiting'),
    })
      .then((job) => { if (job.state === 'completed') log.info({ offboardingId: id, deleted: job.deleted }, job.message); })
      .catch((error: unknown) => log.error({ err: error, offboardingId: id }, 'tenant offboarding stopped; it is taken up again'))
      .finally(() => this.runs.delete(id));
    this.runs.set(id, run);
  }

  /** Runs the jobs under way, now and every sweep interval (a failed look is logged and tried again then). */
  async resume(): Promise<void> {
    const sweep = () => this.offboardings.running()
      .then((ids) => { for (const id of ids) this.run(id); })
      .catch((error: unknown) => this.log.warn({ err: error }, 'tenant offboarding: looking for jobs under way failed'));
    this.sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    await sweep();
  }

  /** Stops every job after its batch under way, and waits for them. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.stop.abort();
    await Promise.all(this.runs.values());
  }
}
