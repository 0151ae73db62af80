// What every trusted issuer provides (EntraIssuer, OidcIssuer): its checks before the
// signature, and who the caller of a verified token is.
import type { Caller } from './caller.js';
import type { KeyReference } from './signingKeys.js';

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Which key must verify a token: a key set, and the key's algorithm and id in it. */
export type KeyToVerify = KeyReference;

/** An issuer's rules: what it checks before the signature, and who the verified caller is. */
export interface TrustedIssuer {
  /** The scope its users' tokens must grant, if any (named in a 403's challenge). */
  readonly requiredScope: string | undefined;
  keyToVerify(token: DecodedJwt): KeyToVerify;
  authenticatedUser(payload: Record<string, unknown>): Caller;
}
