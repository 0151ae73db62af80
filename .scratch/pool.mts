import { startEmbeddedDatabase } from '/work/wt-local/src/local/localDatabase.js';
import { createPool } from '/work/wt-local/src/db/pool.js';
const db = await startEmbeddedDatabase(undefined);
const pool = createPool({ connectionString: db.url, max: 1, timeoutMs: 5000, idleInTransactionTimeoutMs: 10000 });
(pool as any).options.idleTimeoutMillis = 500;
const q = { name: 's', text: 'SELECT k FROM unnest($1::text[]) AS k', values: [['a']] };
console.log((await pool.query(q)).rows);
await new Promise((r) => setTimeout(r, 1500));
console.log('total clients', pool.totalCount);
try { await pool.query(q); } catch (e: any) { console.log('named:', e.code, e.message); }
try { console.log('unnamed:', (await pool.query({ text: q.text, values: q.values })).rows); } catch (e: any) { console.log('unnamed failed:', e.message); }
try { console.log('again:', (await pool.query({ text: q.text, values: q.values })).rows); } catch (e: any) { console.log('again failed:', e.message); }
await pool.end().catch(() => {}); await db.close();
