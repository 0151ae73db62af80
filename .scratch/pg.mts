import pg from 'pg';
import { startEmbeddedDatabase } from '/work/wt-local/src/local/localDatabase.js';
const db = await startEmbeddedDatabase(undefined);
const c1 = new pg.Client(db.url); await c1.connect();
await c1.query({ name: 's', text: 'SELECT 1 AS a' });
await c1.end();
await new Promise((r) => setTimeout(r, 200));
const c2 = new pg.Client(db.url); c2.on('error', (e) => console.log('client error', e.message)); await c2.connect();
try { await c2.query({ name: 's', text: 'SELECT 1 AS a' }); } catch (e: any) { console.log('named:', e.code, e.message); }
try { console.log('unnamed:', (await c2.query('SELECT 2 AS b')).rows); } catch (e: any) { console.log('unnamed failed:', e.message); }
try { console.log('param:', (await c2.query('SELECT $1::int AS b', [3])).rows); } catch (e: any) { console.log('param failed:', e.message); }
await c2.end().catch(() => {}); await db.close();
