// The callers' tokens each scenario sends, made before the clock starts (or, for the
// distinct forged ones, as each request is set up: they need no signing).
import { randomUUID } from 'node:crypto';
import type { EntraEmulator } from '../emulators/entraEmulator.js';

/** A token with one character of its signature changed: the published kid, a signature that fails. */
export function damageSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  // A middle character: the last one of a base64url signature may carry only padding bits.
  const at = dot + Math.floor((token.length - dot) / 2);
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/**
 * Forged tokens, every one distinct, at no cost: a validly signed token's header (the
 * published kid) and signature around a payload with a new jti each time.
 */
export function distinctForgeries(signed: string): () => string {
  const [header, payload, signature] = signed.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  let n = 0;
  return () => `${header}.${Buffer.from(JSON.stringify({ ...claims, jti: `forged-${n++}-${randomUUID()}` })).toString('base64url')}.${signature}`;
}

export interface BenchTokens {
  /** Callers with an identity and a token served already. */
  warm: string[];
  /** The first 200 of `warm`: what the warm scenario and the floor rotate through. */
  warmRotation: string[];
  forgedRepeated: string[];
  forgedDistinct: () => string;
  expired: string[];
  wrongAudience: string[];
  unknownKid: string[];
  teamsPairs: Array<{ bearer: string; teams: string }>;
}

export function makeTokens(entra: EntraEmulator, warmUsers: number): BenchTokens {
  const warm = Array.from({ length: warmUsers }, () => entra.mintAccessToken({ lifetimeSeconds: 7200 }));
  const now = Math.floor(Date.now() / 1000);
  return {
    warm,
    warmRotation: warm.slice(0, 200),
    forgedRepeated: warm.slice(0, 50).map(damageSignature),
    forgedDistinct: distinctForgeries(warm[0]!),
    expired: Array.from({ length: 1000 }, () => entra.mintAccessToken({ claims: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 } })),
    wrongAudience: Array.from({ length: 1000 }, () => entra.mintAccessToken({ lifetimeSeconds: 7200, claims: { aud: 'api://another-api' } })),
    unknownKid: Array.from({ length: 1000 }, () => entra.mintAccessToken({ header: { kid: randomUUID() } }).replace(/.$/, 'A')),
    teamsPairs: warm.slice(0, 200).map(() => {
      const objectId = randomUUID();
      return { bearer: entra.mintAccessToken({ objectId, lifetimeSeconds: 7200 }), teams: entra.mintTeamsToken({ objectId, lifetimeSeconds: 7200 }) };
    }),
  };
}
