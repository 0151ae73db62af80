// The first rule of authentication (docs/security.md): exactly one `Authorization: Bearer <jwt>` header, bounded in size,
// three base64url segments and nothing else. Checked before any decoding or key lookup.
import type { FastifyRequest } from 'fastify';
import { AuthError } from './authError.js';

export const MAX_AUTHORIZATION_HEADER_BYTES = 8 * 1024;

const BEARER_JWT = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

function countAuthorizationHeaders(rawHeaders: string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  }
  return count;
}

/** Returns the compact JWT from the request, or throws a 401 AuthError saying what is wrong. */
export function extractBearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  // Node keeps only the first of repeated Authorization headers, so count the raw ones.
  const count = countAuthorizationHeaders(request.raw.rawHeaders);
  if (header === undefined || count === 0) throw AuthError.invalidToken('No bearer token: send Authorization: Bearer <token>.');
  if (count > 1 || typeof header !== 'string') throw AuthError.invalidToken('Send exactly one Authorization header.');
  if (Buffer.byteLength(header) > MAX_AUTHORIZATION_HEADER_BYTES) {
    throw AuthError.invalidToken(`The Authorization header is larger than ${MAX_AUTHORIZATION_HEADER_BYTES} bytes.`);
  }
  const match = BEARER_JWT.exec(header);
  if (!match) {
    throw AuthError.invalidToken(/^Bearer /i.test(header)
      ? 'The bearer token is not a signed JWT (three base64url segments).'
      : 'The Authorization scheme must be Bearer.');
  }
  return match[1]!;
}
