// Where the service's log lines go by default: standard output, written in batches. pino's own
// default writes each line with a write of its own (a file-system call handed to libuv's thread
// pool); under load that was the dearest part of a warm request. Here lines
// gather until LOG_BATCH_BYTES are waiting, or for at most LOG_FLUSH_MS, and go out in one write.
// Never blocking: a slow reader of standard output makes lines wait in memory, as before. pino
// writes what is waiting when the process exits (close-with-grace ends it on a signal or an
// uncaught error); only a process killed outright loses its last LOG_FLUSH_MS of lines.
import pino from 'pino';

const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;

// One per process, however many apps it builds (tests build many): lines to the same
// descriptor go through one buffer, in order.
let standardOutput: pino.DestinationStream | undefined;

export function logDestination(): pino.DestinationStream {
  standardOutput ??= pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
  return standardOutput;
}
