// A local emulator of the Microsoft Entra ID endpoints this service reads: the v2.0 OpenID
// discovery document and the key set, at the real paths. It generates its own RSA keys and
// mints v2 access tokens with any claims, for tests and for local mode.
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import Fastify from 'fastify';
import { isLoopbackHost } from '../config.js';
import { signJwt, type SigningAlgorithm } from './jwtSigner.js';

export interface EntraEmulatorOptions {
  host?: string;
  port?: number;
  /** Tenant used by mintAccessToken when none is given. */
  tenantId?: string;
  /** Client id of the API: the default `aud` of minted tokens. */
  clientId?: string;
}

export interface MintOptions {
  tenantId?: string;
  objectId?: string;
  /** `scp` claim; default 'access_as_user'. */
  scope?: string;
  lifetimeSeconds?: number;
  /** Claims to add or replace; a claim set to undefined is removed. */
  claims?: Record<string, unknown>;
  /** Header fields to add or replace; a field set to undefined is removed. */
  header?: Record<string, unknown>;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface EntraEmulator {
  /** e.g. http://127.0.0.1:41234 — what AZURE_AUTHORITY_HOST is set to. */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly signingKey: SigningKey;
  /** Paths requested so far, in order (a test can check that nothing was fetched). */
  readonly requests: string[];
  issuer(tenantId?: string): string;
  mintAccessToken(options?: MintOptions): string;
  /** Adds a new signing key, published beside the old one, and uses it for new tokens. */
  rotateKey(): SigningKey;
  close(): Promise<void>;
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const result = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`The Entra ID emulator listens on loopback only, not ${host}`);
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const keys: SigningKey[] = [newSigningKey()];
  const requests: string[] = [];

  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (request) => {
    requests.push(request.url);
  });

  let authorityHost = '';
  const issuerOf = (tenant: string) => `${authorityHost}/${tenant}/v2.0`;

  app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', async (request) => {
    const { tenant } = request.params;
    return {
      issuer: issuerOf(tenant),
      jwks_uri: `${authorityHost}/${tenant}/discovery/v2.0/keys`,
      authorization_endpoint: `${authorityHost}/${tenant}/oauth2/v2.0/authorize`,
      token_endpoint: `${authorityHost}/${tenant}/oauth2/v2.0/token`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      tenant_region_scope: 'EU',
    };
  });

  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async () => ({
    keys: keys.map((key) => ({
      kty: 'RSA',
      use: 'sig',
      kid: key.kid,
      ...(key.publicKey.export({ format: 'jwk' }) as { n: string; e: string }),
      // As Entra does: the key set is shared by tenants, the issuer is a template.
      issuer: `${authorityHost}/{tenantid}/v2.0`,
    })),
  }));

  const address = await app.listen({ host, port: options.port ?? 0 });
  authorityHost = address;

  return {
    authorityHost,
    tenantId,
    clientId,
    get signingKey() {
      return keys[keys.length - 1]!;
    },
    requests,
    issuer: (tenant = tenantId) => issuerOf(tenant),
    mintAccessToken(mint: MintOptions = {}) {
      const key = keys[keys.length - 1]!;
      const tenant = mint.tenantId ?? tenantId;
      const now = Math.floor(Date.now() / 1000);
      const objectId = mint.objectId ?? randomUUID();
      const payload = withOverrides({
        aud: clientId,
        iss: issuerOf(tenant),
        iat: now,
        nbf: now,
        exp: now + (mint.lifetimeSeconds ?? 3600),
        azp: randomUUID(),
        azpacr: '0',
        name: 'Local User',
        oid: objectId,
        preferred_username: `${objectId.slice(0, 8)}@example.test`,
        scp: mint.scope ?? 'access_as_user',
        sub: randomUUID(),
        tid: tenant,
        ver: '2.0',
      }, mint.claims);
      const header = withOverrides({ alg: 'RS256', typ: 'JWT', kid: key.kid }, mint.header);
      return signJwt(header as { alg: SigningAlgorithm }, payload, key.privateKey);
    },
    rotateKey() {
      const key = newSigningKey();
      keys.push(key);
      return key;
    },
    close: () => app.close(),
  };
}
