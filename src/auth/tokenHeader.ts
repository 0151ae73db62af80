// The header checks every trusted issuer makes before any key lookup.
import { AuthError } from './authError.js';

// Header fields that would let a token name its own key: never honoured, always refused.
const KEY_BEARING_HEADER_FIELDS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];
const KEY_ID = /^[\x20-\x7e]{1,128}$/;

/** The header checks every issuer shares: an allowed algorithm, no key of its own, a `kid`. */
export function checkHeader(header: Record<string, unknown>, algorithms: readonly string[]): { alg: string; kid: string } {
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) throw AuthError.invalidToken(`The token must be signed with ${algorithms.join(' or ')}.`);
  for (const field of KEY_BEARING_HEADER_FIELDS) {
    if (field in header) throw AuthError.invalidToken(`The token header must not contain "${field}".`);
  }
  // Printable ASCII: a key id is looked up and logged as text, and a lone surrogate, say,
  // cannot even be put in a URL.
  if (typeof kid !== 'string' || !KEY_ID.test(kid)) {
    throw AuthError.invalidToken('The token header has no valid "kid".');
  }
  return { alg, kid };
}
