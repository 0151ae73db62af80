// What the service's log lines must never show, and how it is kept out of them.

export const LOG_CENSOR = '[redacted]';

/**
 * Never log credentials, whatever a later log call includes: these paths through pino's
 * redaction, and the same keys one level down through censorNestedCredentials.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["teams-user-aad-token"]',
  'headers.authorization',
  'headers["teams-user-aad-token"]',
  'token',
  'accessToken',
];
const NESTED_CREDENTIAL_KEYS = ['token', 'accessToken'];

/**
 * pino's `formatters.log`: `{ issued: { token } }` is logged with the token censored, as the
 * redact paths `*.token` and `*.accessToken` would in a logged object (not in a child logger's
 * bindings or a `%j` argument, neither of which the service logs objects through). Those paths
 * are not used: with a wildcard first, pino's redaction parses its paths anew for every field
 * of every line, which made every log line several times dearer and much of what a warm
 * request allocated (bench/RESULTS.md, 2026-11-27, another machine). Returns the entry itself
 * when there is nothing to censor.
 */
export function censorNestedCredentials(entry: Record<string, unknown>): Record<string, unknown> {
  let censored: Record<string, unknown> | undefined;
  for (const name in entry) {
    const value = entry[name];
    if (value === null || typeof value !== 'object' || !NESTED_CREDENTIAL_KEYS.some((key) => Object.hasOwn(value, key))) continue;
    // A copy with the same prototype and every own property, the credentials replaced in the
    // descriptors (so a frozen object is copied too). An accessor is read from the original and
    // copied as its value: on Node 24 an Error's `stack` is a getter that answers only for the
    // error itself.
    const descriptors = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
    for (const [key, descriptor] of Object.entries(descriptors)) {
      if (descriptor.get || descriptor.set) descriptors[key] = { value: (value as Record<string, unknown>)[key], enumerable: descriptor.enumerable, writable: true, configurable: true };
    }
    for (const key of NESTED_CREDENTIAL_KEYS) {
      if (descriptors[key]) descriptors[key] = { value: LOG_CENSOR, enumerable: true, writable: true, configurable: true };
    }
    censored ??= { ...entry };
    censored[name] = Object.create(Object.getPrototypeOf(value) as object | null, descriptors);
  }
  return censored ?? entry;
}
