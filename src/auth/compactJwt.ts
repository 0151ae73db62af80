// A compact JWT taken apart, and the checks of its claims that need no key (docs/security.md,
// "Claims before the signature"). The bearer rule (bearerToken.ts) has already made sure it is
// three base64url segments. The words are fast-jwt's, which checked these before.
import { AuthError } from './authError.js';
import type { DecodedJwt } from './issuer.js';

export interface CompactJwt extends DecodedJwt {
  /** What the signature signs: the header and payload segments. */
  input: string;
  /** The signature segment (base64url). */
  signature: string;
}

const invalid = (reason: string) => AuthError.invalidToken(`The token is invalid: ${reason}`);

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The header and claims of `token` (not yet trusted), or a 401 AuthError. */
export function decodeCompactJwt(token: string): CompactJwt {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  const header = jsonObject(token.slice(0, first));
  if (header === undefined) throw invalid('The token header is not a valid base64url serialized JSON.');
  const payload = jsonObject(token.slice(first + 1, last));
  if (payload === undefined) throw invalid('The token payload is not a valid base64url serialized JSON.');
  return { header, payload, input: token.slice(0, last), signature: token.slice(last + 1) };
}

/**
 * Refuses (401) a token whose claims say it is not valid now, or not of the shape fast-jwt
 * required: `exp` passed or `nbf` to come (with the clock tolerance), a date that is not a
 * number, an `aud` that is not strings. Its issuer has checked `iss`, `aud` and the claims it
 * requires (keyToVerify).
 */
export function checkClaims(payload: Record<string, unknown>, clockToleranceMs: number, now: number): void {
  const { exp, nbf, aud } = payload;
  if (Array.isArray(aud) ? aud.some((value) => typeof value !== 'string') : typeof aud !== 'string') {
    throw invalid('The aud claim must be a string or an array of strings.');
  }
  if (typeof exp !== 'number') throw invalid('The exp claim must be a number.');
  if (nbf !== undefined && typeof nbf !== 'number') throw invalid('The nbf claim must be a number.');
  if (now > exp * 1000 + clockToleranceMs) throw AuthError.invalidToken('The token has expired.');
  if (nbf !== undefined && now < nbf * 1000 - clockToleranceMs) throw AuthError.invalidToken('The token is not valid yet.');
}
