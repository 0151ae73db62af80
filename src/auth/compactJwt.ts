// A compact JWT's header and claims read before any key lookup, for the checks that need no key
// (docs/security.md, "Claims before the signature"). Not trusted: @fastify/jwt (fast-jwt)
// decodes the token again and verifies all of it. The bearer rule (bearerToken.ts) has already
// made sure it is three base64url segments. The words are fast-jwt's, which refused these before.
import { AuthError } from './authError.js';
import type { DecodedJwt } from './issuer.js';

const invalid = (reason: string) => AuthError.invalidToken(`The token is invalid: ${reason}`);

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The header of `token` (not yet trusted), or undefined if it is not a JSON object. */
export const decodeHeader = (token: string): Record<string, unknown> | undefined => jsonObject(token.slice(0, token.indexOf('.')));

/**
 * The header and claims of `token` (not yet trusted), or a 401 AuthError. `header`: what
 * decodeHeader gave for it (read once, before; undefined when it was not a JSON object).
 */
export function decodeCompactJwt(token: string, header: Record<string, unknown> | undefined): DecodedJwt {
  const first = token.indexOf('.');
  if (header === undefined) throw invalid('The token header is not a valid base64url serialized JSON.');
  const payload = jsonObject(token.slice(first + 1, token.lastIndexOf('.')));
  if (payload === undefined) throw invalid('The token payload is not a valid base64url serialized JSON.');
  return { header, payload };
}

/**
 * Refuses (401) a token whose dates say it is not valid now: `exp` passed or `nbf` to come,
 * with the clock tolerance, as fast-jwt would after the signature. Dates that are missing or
 * not numbers are left to fast-jwt, which refuses them in its own words.
 */
export function checkDates(payload: Record<string, unknown>, clockToleranceMs: number, now: number): void {
  const { exp, nbf } = payload;
  if (typeof exp === 'number' && now > exp * 1000 + clockToleranceMs) throw AuthError.invalidToken('The token has expired.');
  if (typeof nbf === 'number' && now < nbf * 1000 - clockToleranceMs) throw AuthError.invalidToken('The token is not valid yet.');
}
