// Where the service's log lines go by default: standard output, written in batches. pino's own
// default hands each line to libuv's thread pool as a write of its own, which under load was
// the dearest part of a warm request (a hand-over to another thread per line, and even per
// batch). Here lines gather until LOG_BATCH_BYTES are waiting, or for at most LOG_FLUSH_MS, and
// go out in one write on this thread. What waits is written when the process exits (on a
// signal or an uncaught error too, which close-with-grace turns into an orderly exit); only a
// process killed outright loses its last LOG_FLUSH_MS of lines. A reader that stops reading
// standard output holds the service up, as pino's synchronous mode does, instead of lines
// piling up in memory.
import pino from 'pino';

const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;

// One per process, however many apps it builds (tests build many): lines to the same
// descriptor go through one buffer, in order.
let standardOutput: ReturnType<typeof pino.destination> | undefined;

export function logDestination(): pino.DestinationStream {
  if (!standardOutput) {
    const stream = pino.destination({ dest: 1, sync: true, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
    // pino does this itself only for a destination that is not synchronous.
    process.once('exit', () => {
      try {
        stream.flushSync();
      } catch {
        // Destroyed (standard output gone): nothing more can be written.
      }
    });
    standardOutput = stream;
  }
  return standardOutput;
}
