// The summary: each case's measured ratio beside its target, met or not; printed and written
// with every table to bench/results.json.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { projectFile } from '../src/projectFiles.js';

export interface SummaryRow { case: string; measured: string; target: string; met: 'yes' | 'no' | 'not run' }

/** A ratio (or undefined when the case did not run) against `at least` or `at most` a bound. */
export function judged(name: string, value: number | undefined, bound: 'at least' | 'at most', limit: number, unit = '×'): SummaryRow {
  const target = `${bound === 'at least' ? '≥' : '≤'} ${limit}${unit}`;
  if (value === undefined || Number.isNaN(value)) return { case: name, measured: '—', target, met: 'not run' };
  const met = bound === 'at least' ? value >= limit : value <= limit;
  return { case: name, measured: `${value}${unit}`, target, met: met ? 'yes' : 'no' };
}

/** Several bounds on one case (e.g. req/s and p99): met when every one is. */
export function judgedTogether(name: string, parts: SummaryRow[]): SummaryRow {
  const ran = parts.every((part) => part.met !== 'not run');
  return {
    case: name,
    measured: parts.map((part) => `${part.case} ${part.measured}`).join(', '),
    target: parts.map((part) => `${part.case} ${part.target}`).join(', '),
    met: !ran ? 'not run' : parts.every((part) => part.met === 'yes') ? 'yes' : 'no',
  };
}

export function writeResults(settings: Record<string, unknown>, tables: Record<string, unknown>, summary: SummaryRow[]) {
  const ran = summary.filter((row) => row.met !== 'not run');
  if (ran.length) {
    process.stdout.write('\nSummary (ratios to the floor or to a bare Fastify process):\n');
    console.table(ran);
  }
  const machine = { cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  writeFileSync(projectFile('bench', 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, ...settings, ...tables, summary }, null, 2)}\n`);
  process.stdout.write('Written: bench/results.json\n');
}
