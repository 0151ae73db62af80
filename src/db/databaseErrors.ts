// Which database failures mean "unavailable" (answer 503 and retry) rather than a bug (500).
import { DatabaseTokenError } from './databaseTokens.js';

export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The database is unavailable', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

// SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator
// intervention (includes 57014 statement timeout and 57P01 admin shutdown).
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // No Entra token to sign in with (DATABASE_AUTH=entra): an outage of the identity endpoint.
  if (error instanceof DatabaseTokenError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  // pg's own client-side failures carry no code, only these messages.
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error/i.test(error.message);
}

/** Rethrows database outages as DatabaseUnavailableError; other errors unchanged. */
export function classifyDatabaseError(error: unknown): never {
  throw isDatabaseUnavailable(error) ? new DatabaseUnavailableError(error) : error;
}
