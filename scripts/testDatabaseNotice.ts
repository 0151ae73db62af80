// Says, before the tests run, which database they will use — the same decision every test
// file makes (test/helpers/testDatabase.ts).
import { ADMIN_DATABASE_URL, TEST_DATABASE } from '../test/helpers/testDatabase.js';

const where = new URL(ADMIN_DATABASE_URL);
process.stdout.write(TEST_DATABASE === 'pglite'
  ? (process.env.TEST_DATABASE === 'pglite'
    ? 'Tests run on embedded PostgreSQL (PGlite), as TEST_DATABASE=pglite asks.\n'
    : `No PostgreSQL server answers at ${where.host}: tests run on embedded PostgreSQL (PGlite) instead.\n`)
  : `Tests run on the PostgreSQL server at ${where.host} (TEST_DATABASE=pglite runs them on embedded PGlite).\n`);
