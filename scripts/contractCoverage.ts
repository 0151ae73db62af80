// After the tests: which documented answers (operation × status) the tests produced, and in
// which test files. Every documented status must be produced by at least one test (a test
// producing an undocumented one already fails where it happens). 500 is the exception: it
// documents the answer to a bug, which no test can produce on purpose.
// `--reset` clears the records of an earlier run (npm test does so before tap).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadContract } from '../src/http/contract.js';
import { projectFile } from '../src/projectFiles.js';

const dir = projectFile('.tap', 'contract-coverage');
if (process.argv.includes('--reset')) {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const byAnswer = new Map<string, Set<string>>();
for (const name of existsSync(dir) ? readdirSync(dir) : []) {
  const { file, produced } = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) as { file: string; produced: string[] };
  for (const answer of produced) byAnswer.set(answer, (byAnswer.get(answer) ?? new Set()).add(file.replace(/^test\//, '')));
}

const UNPRODUCIBLE = new Set(['500']);
const contract = loadContract() as { paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> }>> };
const rows: string[] = [];
const missing: string[] = [];
for (const item of Object.values(contract.paths)) {
  for (const operation of Object.values(item)) {
    if (!operation.operationId || !operation.responses) continue;
    for (const status of Object.keys(operation.responses)) {
      const answer = `${operation.operationId} ${status}`;
      const files = [...(byAnswer.get(answer) ?? [])].sort();
      const note = files.length > 0 ? files.slice(0, 4).join(', ') + (files.length > 4 ? ` (+${files.length - 4})` : '')
        : UNPRODUCIBLE.has(status) ? '(a bug\'s answer: not produced on purpose)' : 'MISSING';
      if (files.length === 0 && !UNPRODUCIBLE.has(status)) missing.push(answer);
      rows.push(`  ${operation.operationId.padEnd(19)} ${status}  ${note}`);
    }
  }
}
process.stdout.write(`Contract coverage (operation, documented status, test files that produced it):\n${rows.join('\n')}\n`);
if (missing.length > 0) {
  process.stderr.write(`\n${missing.length} documented answers no test produced: ${missing.join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(`Every documented answer was produced by a test (${rows.length} in all).\n`);
