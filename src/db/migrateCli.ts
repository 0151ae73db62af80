// `npm run migrate`: applies the pending migrations to DATABASE_URL and exits. Run it once per
// release (or set MIGRATE_ON_START=true); it is safe when several run at once.
import { existsSync } from 'node:fs';
import { createPool } from './pool.js';
import { migrate } from './migrations.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const connectionString = process.env.DATABASE_URL;
if (!connectionString) {
  process.stderr.write('DATABASE_URL is required (see .env.example).\n');
  process.exit(1);
}
const pool = createPool({ connectionString, max: 1, timeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 });
try {
  const applied = await migrate(pool);
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database schema is up to date.\n');
} finally {
  await pool.end();
}
