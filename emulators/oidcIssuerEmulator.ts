// A generic OpenID Connect issuer, served by the Entra ID emulator under /oidc: a discovery
// document, a key set with one key (ES256 by default), and tokens keyed by `sub`, as Auth0,
// Keycloak or Entra External ID issue them. Tests and local mode use it to show that an issuer
// of AUTH_ISSUERS works end to end, and that its keys never verify another issuer's tokens.
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { signJwt, type SigningAlgorithm } from './jwtSigner.js';

export interface OidcIssuerOptions {
  /** The key's algorithm (default ES256). */
  algorithm?: 'ES256' | 'RS256';
  /** The key's id (default random): a test may make it collide with another issuer's. */
  kid?: string;
}

export interface OidcMintOptions {
  subject?: string;
  /** Default: OIDC_AUDIENCE. */
  audience?: string | string[];
  /** The `scope` claim; default "openid tokens". */
  scope?: string;
  lifetimeSeconds?: number;
  /** Claims to add or replace; a claim set to undefined is removed. */
  claims?: Record<string, unknown>;
  /** Header fields to add or replace. */
  header?: Record<string, unknown>;
}

export interface OidcIssuerEmulator {
  /** The `iss` of its tokens, e.g. http://127.0.0.1:41234/oidc. */
  readonly issuer: string;
  readonly audience: string;
  readonly algorithm: 'ES256' | 'RS256';
  readonly kid: string;
  readonly privateKey: KeyObject;
  mintToken(options?: OidcMintOptions): string;
}

/** The audience its tokens carry unless told otherwise. */
export const OIDC_AUDIENCE = 'acs-token-service';
export const OIDC_PATH = '/oidc';

/** Adds the issuer's routes to `app`; `baseUrl()` is the server's address once it listens. */
export function registerOidcIssuer(app: FastifyInstance, baseUrl: () => string, options: OidcIssuerOptions = {}): OidcIssuerEmulator {
  const algorithm = options.algorithm ?? 'ES256';
  const kid = options.kid ?? randomUUID();
  const { privateKey, publicKey } = algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issuer = () => `${baseUrl()}${OIDC_PATH}`;

  app.get(`${OIDC_PATH}/.well-known/openid-configuration`, async () => ({
    issuer: issuer(),
    jwks_uri: `${issuer()}/keys`,
    authorization_endpoint: `${issuer()}/authorize`,
    token_endpoint: `${issuer()}/token`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [algorithm],
  }));
  app.get(`${OIDC_PATH}/keys`, async () => ({
    keys: [{ ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), kid, use: 'sig', alg: algorithm }],
  }));

  return {
    get issuer() {
      return issuer();
    },
    audience: OIDC_AUDIENCE,
    algorithm,
    kid,
    privateKey,
    mintToken(mint: OidcMintOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer(),
        sub: mint.subject ?? randomUUID(),
        aud: mint.audience ?? OIDC_AUDIENCE,
        iat: now,
        exp: now + (mint.lifetimeSeconds ?? 3600),
        scope: mint.scope ?? 'openid tokens',
        ...mint.claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      const header = { alg: algorithm as SigningAlgorithm, typ: 'JWT', kid, ...mint.header };
      return signJwt(header, payload, privateKey);
    },
  };
}
