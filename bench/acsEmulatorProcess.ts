// The ACS emulator in a process of its own, for the benchmark: prints its connection string
// and a loopback URL for its counters as one JSON line, then serves until killed.
// ACS_LATENCY_MS adds latency to every answer (default 0).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAcsEmulator } from '../emulators/acsEmulator.js';

const emulator = await startAcsEmulator();
emulator.setLatency(Number(process.env.ACS_LATENCY_MS ?? 0));
const counters = createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(emulator.counters));
});
await new Promise<void>((resolve) => counters.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({
  connectionString: emulator.connectionString,
  countersUrl: `http://127.0.0.1:${(counters.address() as AddressInfo).port}/`,
})}\n`);
