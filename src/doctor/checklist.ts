// The doctor's checklist: runs checks one after another, each bounded by its own timeout, and
// prints a line per outcome, with the fix for each failure. One check failing never stops the next.

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

export interface Outcome {
  status: Status;
  /** What was found, e.g. "created, issued, deleted an identity". */
  text: string;
  /** What to do about a failure or a warning. */
  fix?: string;
}

export interface Check {
  /** The group the line belongs to, e.g. "ACS". */
  group: string;
  /** The longest the check may take; past it the check fails with `timeoutFix`. */
  timeoutMs: number;
  timeoutFix: string;
  run(): Promise<Outcome | Outcome[]>;
}

export const pass = (text: string): Outcome => ({ status: 'pass', text });
export const fail = (text: string, fix: string): Outcome => ({ status: 'fail', text, fix });
export const warn = (text: string, fix: string): Outcome => ({ status: 'warn', text, fix });
export const skip = (text: string): Outcome => ({ status: 'skip', text });

/** The one line of a check not run because its own settings are invalid: which ones, and why. */
export function invalidSettingsCheck(group: string, problems: readonly string[]): Check {
  const why = problems.length > 0 ? `: ${problems.join('; ')}` : ' (see Settings above)';
  return { group, timeoutMs: 1, timeoutFix: '', run: async () => skip(`not checked: its settings are invalid${why}`) };
}

const MARKS: Record<Status, string> = { pass: '✔', warn: '!', fail: '✘', skip: '–' };

/** The message of an error and of its causes (a network error often says more in its cause). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    const message = e instanceof Error ? (e.message || (e as NodeJS.ErrnoException).code || e.name) : typeof e === 'string' ? e : JSON.stringify(e);
    if (message && !parts.includes(message)) parts.push(message);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ') || 'unknown error';
}

export function formatLine(group: string, outcome: Outcome, ms: number | undefined): string {
  const time = ms === undefined ? '' : ` (${Math.round(ms)} ms)`;
  const fix = outcome.fix ? ` — fix: ${outcome.fix}` : '';
  return `${MARKS[outcome.status]} ${group}: ${outcome.text}${time}${fix}\n`;
}

async function bounded(check: Check): Promise<Outcome[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome[]>((resolve) => {
    timer = setTimeout(() => resolve([fail(`no answer within ${check.timeoutMs} ms`, check.timeoutFix)]), check.timeoutMs);
  });
  try {
    const outcome = await Promise.race([check.run().then((o) => (Array.isArray(o) ? o : [o])), timeout]);
    return outcome;
  } catch (error) {
    return [fail(describeError(error), check.timeoutFix)];
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the checks in order, writes their lines, and tells whether any failed. */
export async function runChecklist(checks: Check[], write: (line: string) => void): Promise<{ failed: number; warned: number }> {
  let failed = 0;
  let warned = 0;
  for (const check of checks) {
    const started = performance.now();
    const outcomes = await bounded(check);
    const ms = performance.now() - started;
    for (const outcome of outcomes) {
      if (outcome.status === 'fail') failed++;
      if (outcome.status === 'warn') warned++;
      write(formatLine(check.group, outcome, outcome.status === 'skip' ? undefined : ms));
    }
  }
  return { failed, warned };
}
