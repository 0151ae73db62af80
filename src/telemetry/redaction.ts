// What never leaves the process in a span: tokens (JWTs, ours and ACS's), Authorization and
// Teams token headers, ACS user ids, which are personal data and appear in the paths of ACS's
// URLs (url.full, url.path, http.target…) and in error messages, and query parameters other
// than a few harmless ones (the admin API's are a user's keys; a client may send anything).
// Every string attribute, event attribute, span name and status message is rewritten before
// export; a user is named only by the audit trail's keyed hash, set by the service itself.
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

const ACS_USER_ID = /8(?::|%3a)acs(?::|%3a)[\w.~%-]+/gi;
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
const CREDENTIAL = /\b(bearer|hmac-sha256)\s+\S+/gi;
const SECRET_KEY = /authorization|teams-user-aad-token|cookie|x-ms-content-sha256|signature|password|secret/i;

export const REDACTED = '[redacted]';
const PG_CODE = /\(code: (\w+)\)/;

// What each of the three starts with, in one test: most attributes hold none, and are left as they are.
const MAY_HOLD_SECRET = /8(?::|%3a)acs|eyJ|bearer|hmac-sha256/i;

export function redactText(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text.replace(ACS_USER_ID, '8:acs:{id}').replace(JWT, REDACTED).replace(CREDENTIAL, `$1 ${REDACTED}`);
}

const HARMLESS_QUERY_PARAMETERS = new Set(['scopes', 'expiresInMinutes', 'api-version']);

/** The query string keeping only harmless parameters (the others are dropped, names too). */
function harmlessQuery(query: string): string {
  return query.split('&').filter((parameter) => HARMLESS_QUERY_PARAMETERS.has(parameter.split('=')[0]!)).join('&');
}

/** A URL (or path, or `url.query` itself) with only harmless query parameters; `url.path` with none. */
export function redactUrl(key: string, value: string): string {
  if (key === 'url.query') return harmlessQuery(value);
  const at = value.indexOf('?');
  if (at < 0) return value;
  if (key === 'url.path') return value.slice(0, at);
  const query = harmlessQuery(value.slice(at + 1));
  return query ? `${value.slice(0, at)}?${query}` : value.slice(0, at);
}

const URL_KEYS = new Set(['url.full', 'url.path', 'url.query', 'http.url', 'http.target']);

type Attributes = Record<string, unknown>;

type KeyKind = 'secret' | 'url' | 'other';

// Attribute keys are the instrumentations' and ours, a few dozen names seen on every span: each
// is classified once. Bounded all the same, in case some instrumentation makes keys from data.
const keyKinds = new Map<string, KeyKind>();
const MAX_KEYS_REMEMBERED = 512;

function kindOf(key: string): KeyKind {
  let kind = keyKinds.get(key);
  if (kind === undefined) {
    kind = SECRET_KEY.test(key) ? 'secret' : URL_KEYS.has(key) ? 'url' : 'other';
    if (keyKinds.size < MAX_KEYS_REMEMBERED) keyKinds.set(key, kind);
  }
  return kind;
}

function redactAttributes(attributes: Attributes): void {
  for (const key of Object.keys(attributes)) {
    const kind = kindOf(key);
    const value = attributes[key];
    if (kind === 'secret') attributes[key] = REDACTED;
    else if (typeof value === 'string') attributes[key] = redactText(kind === 'url' ? redactUrl(key, value) : value);
    else if (Array.isArray(value)) attributes[key] = value.map((item) => (typeof item === 'string' ? redactText(item) : item) as unknown);
  }
}

/** pg's error message may quote the values of the statement: only its SQLSTATE code is kept. */
function statusMessage(span: ReadableSpan): string {
  const { attributes } = span;
  if (attributes['db.system.name'] !== 'postgresql' && attributes['db.system'] !== 'postgresql') return redactText(span.status.message!);
  // The instrumentation's exception event is already reduced to the code.
  const recorded = span.events.map((event) => PG_CODE.exec(String(event.attributes?.['exception.message'] ?? ''))?.[1]).find(Boolean);
  return `PostgreSQL error (code: ${String(attributes['error.type'] ?? recorded ?? 'unknown')})`;
}

/**
 * Rewrites each span as it ends, before the exporting processor (registered after this one)
 * sees it. The SDK's ended span is still a plain object, so it is changed in place.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    const writable = span as { -readonly [K in keyof ReadableSpan]: ReadableSpan[K] };
    writable.name = redactText(span.name);
    redactAttributes(span.attributes);
    for (const event of span.events) {
      event.name = redactText(event.name);
      if (event.attributes) redactAttributes(event.attributes);
    }
    if (span.status.message) writable.status = { ...span.status, message: statusMessage(span) };
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
