// `tsx bench/profileSummary.ts <file.cpuprofile>`: the functions with the most self time.
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[] };
const total = profile.samples.length;
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + (node.hitCount ?? 0));
}
const byPackage = new Map<string, number>();
for (const [key, hits] of byFunction) {
  const where = key.split(' ')[1] ?? '';
  const pkg = where.startsWith('dist/') ? 'service (dist)' : where.startsWith('node:') || where === ':0' || where === '' ? 'node/native' : where.split('/').slice(0, where.startsWith('@') ? 2 : 1).join('/');
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
}
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([key, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)} %  ${key}`).join('\n');
process.stdout.write(`Self time by package:\n${top(byPackage, 15)}\n\nTop functions:\n${top(byFunction, 25)}\n`);
