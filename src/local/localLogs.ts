// Local mode's log lines, for people: pino-pretty turns each JSON line, as pino wrote it (so
// already redacted and censored), into one line of text. Loaded only with local mode (pino-pretty
// is a development dependency, as the rest of local mode); every other mode logs JSON.
import pinoPretty from 'pino-pretty';
import { logDestination } from '../http/logDestination.js';

export interface LogSink {
  write(line: string): void;
}

/** A log stream that writes readable lines to `sink` (standard output, batched, by default). */
export function prettyLogStream(sink: LogSink = logDestination(), options: { colorize?: boolean } = {}): LogSink {
  // Colours only on a terminal (pino-pretty's own check also says yes when CI is set, even
  // into a pipe). The pid stays: it is what to signal when the service runs under npm.
  const colorize = options.colorize ?? (pinoPretty.isColorSupported && process.stdout.isTTY === true);
  const prettify = pinoPretty.prettyFactory({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname', singleLine: true, colorize });
  return { write: (line) => { sink.write(prettify(line)); } };
}
