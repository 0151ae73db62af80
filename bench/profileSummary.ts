// `tsx bench/profileSummary.ts <file.cpuprofile> [--last-seconds N] [--top N]`: where a CPU
// profile's busy time went, by package, by function (self time) and by function including its
// callees (the first N, 40 by default). --last-seconds keeps only the samples of the profile's
// last N seconds, so that start-up and set-up do not blur the picture: the bench's last
// scenario and the floor run after it (the service idles then), so twice BENCH_SECONDS and a
// little. Percentages are of the busy samples (idle excluded).
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; endTime: number; startTime: number };
const lastSecondsAt = process.argv.indexOf('--last-seconds');
const since = lastSecondsAt > 0 ? profile.endTime - Number(process.argv[lastSecondsAt + 1]) * 1e6 : -Infinity;
const topAt = process.argv.indexOf('--top');
const lines = topAt > 0 ? Number(process.argv[topAt + 1]) : 40;

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const label = (node: Node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};
const packageOf = (key: string) => {
  const where = key.split(' ')[1] ?? '';
  if (where.startsWith('dist/')) return 'service (dist)';
  if (where.startsWith('node:') || where === ':0' || where === '') return 'node/native';
  return where.split('/').slice(0, where.startsWith('@') ? 2 : 1).join('/');
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const byPackage = new Map<string, number>();
const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
let busy = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < since) return;
  const node = nodes.get(id)!;
  const key = label(node);
  if (key.startsWith('(idle)')) return;
  busy++;
  add(self, key);
  add(byPackage, packageOf(key));
  const seen = new Set<string>();
  for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
    const name = label(nodes.get(current)!);
    if (!seen.has(name) && !name.startsWith('(root)')) { seen.add(name); add(inclusive, name); }
  }
});
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([key, hits]) => `${((100 * hits) / busy).toFixed(1).padStart(5)} %  ${key}`).join('\n');
process.stdout.write(`${busy} busy samples.\n\nSelf time by package:\n${top(byPackage, 12)}\n\nTop functions (self):\n${top(self, Math.round(lines * 0.6))}\n\nTop functions (with callees):\n${top(inclusive, lines)}\n`);
