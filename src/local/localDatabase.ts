// Local mode's database: PGlite (PostgreSQL compiled to WebAssembly) in this process, served on
// a loopback port over the PostgreSQL wire protocol, so the service's one `pg` code path and
// its migrations run unchanged. PGlite is a single session: the service's pool must keep to
// one connection, so that two transactions never interleave. The server takes one more: a
// connection the pool dropped is still closing (on both ends) when its replacement arrives,
// and a server full until then would refuse the replacement (a 503 for that request).
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  url: string;
  close(): Promise<void>;
}

/** Starts PGlite with its data in `dataDir` (kept across restarts), or in memory without one. */
export async function startEmbeddedDatabase(dataDir: string | undefined, maxConnections = 2): Promise<EmbeddedDatabase> {
  const db = await PGlite.create(dataDir ?? 'memory://');
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
