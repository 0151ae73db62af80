// The build writes openapi.yaml as JSON for the built service to read at start: it must be the
// same document the service reads from openapi.yaml when run from its sources.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildContract } from '../../scripts/buildContract.js';
import { loadContract } from '../../src/http/contract.js';

t.test('the JSON written at build time is openapi.yaml, parsed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'openapi.json');
  buildContract(file);
  const built = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.same(built, loadContract());
  t.match(built, { openapi: /^3\./, paths: { '/api/token': {} } });
});
