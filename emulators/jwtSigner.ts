// A small JWT signer for the local Entra ID emulator and for tests that need tokens signed in
// ways a real issuer never would (other algorithms, `alg: none`, HMAC with a public key).
import { createHmac, createSign, createVerify, constants, type KeyObject } from 'node:crypto';

export type SigningAlgorithm = 'RS256' | 'RS384' | 'PS256' | 'ES256' | 'HS256' | 'none';

export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

function signature(alg: SigningAlgorithm, signingInput: string, key: KeyObject | Buffer | string | undefined): string {
  if (alg === 'none') return '';
  if (key === undefined) throw new Error(`a key is needed to sign with ${alg}`);
  if (alg === 'HS256') return createHmac('sha256', key).update(signingInput).digest('base64url');
  const hash = alg === 'RS384' ? 'RSA-SHA384' : 'RSA-SHA256';
  const signer = createSign(alg === 'ES256' ? 'SHA256' : hash).update(signingInput);
  if (alg === 'PS256') {
    return signer.sign({ key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url');
  }
  if (alg === 'ES256') return signer.sign({ key: key as KeyObject, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return signer.sign(key).toString('base64url');
}

/** Signs `payload` with `header.alg`; the header is used as given (extra fields included). */
export function signJwt(
  header: Record<string, unknown> & { alg: SigningAlgorithm },
  payload: Record<string, unknown>,
  key?: KeyObject | Buffer | string,
): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${signature(header.alg, signingInput, key)}`;
}

/** The payload of an RS256 JWT whose signature one of `publicKeys` (by kid) verifies, else undefined. */
export function verifyRs256(token: string, publicKeys: Map<string, KeyObject>): Record<string, unknown> | undefined {
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  if (!headerPart || !payloadPart || !signaturePart) return undefined;
  try {
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString()) as { alg?: string; kid?: string };
    const key = header.kid === undefined ? undefined : publicKeys.get(header.kid);
    if (header.alg !== 'RS256' || !key) return undefined;
    const valid = createVerify('RSA-SHA256').update(`${headerPart}.${payloadPart}`).verify(key, Buffer.from(signaturePart, 'base64url'));
    return valid ? (JSON.parse(Buffer.from(payloadPart, 'base64url').toString()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
