// A local emulator of the Microsoft Entra ID endpoints this service uses: the v2.0 OpenID
// discovery document, the key set, and the token endpoint's on-behalf-of and device code grants,
// at the real paths; and the managed identity endpoint of App Service and Container Apps. It generates its own RSA keys and mints v2 access tokens with any claims, for tests
// and for local mode. With `tls`, it serves HTTPS with a certificate made at start (MSAL
// refuses http:// authorities); `caCertificate` is what a client must trust.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { generate } from 'selfsigned';
import { TEAMS_RESOURCE, TEAMS_RESOURCE_SCOPES, TEAMS_SCOPES } from './azureFacts.js';
import { isLoopbackHost } from './loopback.js';
import { isDeviceCodeGrant, registerDeviceCodeFlow } from './deviceCodeFlow.js';
import { registerManagedIdentityEndpoint, type ManagedIdentityEndpoint } from './managedIdentityEndpoint.js';
import { signJwt, verifyRs256, type SigningAlgorithm } from './jwtSigner.js';
import { registerOidcIssuer, type OidcIssuerEmulator, type OidcIssuerOptions } from './oidcIssuerEmulator.js';

export interface EntraEmulatorOptions {
  host?: string;
  port?: number;
  /** Tenant used by mintAccessToken when none is given. */
  tenantId?: string;
  /** Client id of the API: the default `aud` of minted tokens. */
  clientId?: string;
  /** The API's client secret, which the token endpoint requires. */
  clientSecret?: string;
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
  /** The signing key to start with (local mode keeps it, so tokens outlive a restart). */
  signingKey?: { kid: string; privateKeyPem: string };
  /** The generic OpenID Connect issuer it also serves under /oidc. */
  oidc?: OidcIssuerOptions;
}

/** An error the token endpoint answers with, as Entra ID does (AADSTS codes in the description). */
export interface TokenEndpointFault {
  status: number;
  error: string;
  description: string;
  suberror?: string;
  claims?: string;
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
  readonly clientSecret: string;
  /** PEM certificate to trust with `tls` (it is its own CA); undefined over http. */
  readonly caCertificate: string | undefined;
  /** Paths requested so far, in order (a test can check that nothing was fetched). */
  readonly requests: string[];
  /** Successful on-behalf-of token grants. */
  readonly counters: { oboGrants: number };
  /** The published keys by kid (another emulator that accepts this one's tokens checks them). */
  publicKeys(): Map<string, KeyObject>;
  /**
   * Signs in the user who entered `userCode` (device code flow, as the operator does in a
   * browser): the client polling for it then gets its token. False for an unknown code.
   */
  approveDeviceCode(userCode: string, user?: { objectId?: string }): boolean;
  /** Makes the token endpoint answer with this error until cleared (undefined). */
  setTokenEndpointFault(fault: TokenEndpointFault | undefined): void;
  /** A Teams user's Entra token for the ACS Teams scopes, as MSAL gives a client app. */
  mintTeamsToken(options?: { tenantId?: string; objectId?: string; appId?: string; lifetimeSeconds?: number }): string;
  issuer(tenantId?: string): string;
  mintAccessToken(options?: MintOptions): string;
  /**
   * Adds a new signing key and uses it for new tokens. It is published beside the old ones, or,
   * with `retireOld`, instead of them (an issuer that withdraws its key at once).
   */
  rotateKey(options?: { retireOld?: boolean }): SigningKey;
  /** A second, generic OpenID Connect issuer on the same server (AUTH_ISSUERS). */
  readonly oidc: OidcIssuerEmulator;
  /** The managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER) on the same server. */
  readonly managedIdentity: ManagedIdentityEndpoint;
  close(): Promise<void>;
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

/** A new signing key as PEM, for a caller that keeps it (local mode's state file). */
export function newSigningKeyPem(): { kid: string; privateKeyPem: string } {
  const { privateKey, kid } = newSigningKey();
  return { kid, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function restoreSigningKey({ kid, privateKeyPem }: { kid: string; privateKeyPem: string }): SigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  return { kid, privateKey, publicKey: createPublicKey(privateKey) };
}

/** A stable GUID for a name: local users and tenants keep their ids across restarts. */
export function nameToGuid(namespace: string, name: string): string {
  const hex = createHash('sha256').update(`${namespace}:${name.toLowerCase()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const result = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const generated = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { key: generated.private, cert: generated.cert };
}

const OBO_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`The Entra ID emulator listens on loopback only, not ${host}`);
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const keys: SigningKey[] = [options.signingKey ? restoreSigningKey(options.signingKey) : newSigningKey()];
  const requests: string[] = [];
  const counters = { oboGrants: 0 };
  let tokenFault: TokenEndpointFault | undefined;
  const tls = options.tls ? await selfSignedCertificate() : undefined;

  // The routes do not care which server carries them.
  const app = (tls ? Fastify({ logger: false, https: tls }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
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

  /** Signs a v2 access token with the current key; `claims` override the defaults. */
  function mint(claims: Record<string, unknown>, header: Record<string, unknown> = {}, lifetimeSeconds = 3600): string {
    const key = keys[keys.length - 1]!;
    const now = Math.floor(Date.now() / 1000);
    const objectId = typeof claims.oid === 'string' ? claims.oid : randomUUID();
    const tenant = typeof claims.tid === 'string' ? claims.tid : tenantId;
    const payload = withOverrides({
      aud: clientId,
      iss: issuerOf(tenant),
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      azp: randomUUID(),
      azpacr: '0',
      name: 'Local User',
      oid: objectId,
      preferred_username: `${objectId.slice(0, 8)}@example.test`,
      scp: 'access_as_user',
      sub: randomUUID(),
      tid: tenant,
      ver: '2.0',
    }, claims);
    return signJwt(withOverrides({ alg: 'RS256', typ: 'JWT', kid: key.kid }, header) as { alg: SigningAlgorithm }, payload, key.privateKey);
  }

  const teamsToken = (tid: string, oid: string, appId: string, lifetimeSeconds = 3600) => mint({
    aud: TEAMS_RESOURCE,
    iss: `https://sts.windows.net/${tid}/`,
    appid: appId,
    oid,
    tid,
    scp: TEAMS_SCOPES.join(' '),
    ver: '1.0',
    azp: undefined,
    azpacr: undefined,
  }, {}, lifetimeSeconds);

  const oauthError = (status: number, error: string, description: string, extra: Record<string, unknown> = {}) => ({
    status,
    body: { error, error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], ...extra },
  });

  // The on-behalf-of grant: an API trades its caller's token for one to another resource.
  function onBehalfOf(tenant: string, form: Record<string, string>): { status: number; body: Record<string, unknown> } {
    if (tokenFault) {
      const { status, error, description, suberror, claims } = tokenFault;
      return oauthError(status, error, description, { ...(suberror ? { suberror } : {}), ...(claims ? { claims } : {}) });
    }
    if (form.client_id !== clientId || form.client_secret !== clientSecret) {
      return oauthError(401, 'invalid_client', `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${String(form.client_id)}'.`);
    }
    if (form.grant_type !== OBO_GRANT || form.requested_token_use !== 'on_behalf_of' || !form.assertion) {
      return oauthError(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
    }
    const assertion = verifyRs256(form.assertion, new Map(keys.map((key) => [key.kid, key.publicKey])));
    const now = Math.floor(Date.now() / 1000);
    if (!assertion || assertion.aud !== clientId || assertion.tid !== tenant) {
      return oauthError(400, 'invalid_grant', 'AADSTS50013: Assertion failed signature validation.');
    }
    if (typeof assertion.exp !== 'number' || assertion.exp <= now) {
      return oauthError(400, 'invalid_grant', 'AADSTS500133: Assertion is not within its valid time range.');
    }
    const scopes = (form.scope ?? '').split(' ');
    if (!TEAMS_RESOURCE_SCOPES.every((scope) => scopes.includes(scope))) {
      return oauthError(400, 'invalid_scope', `AADSTS70011: The provided value for the input parameter 'scope' is not valid.`);
    }
    counters.oboGrants++;
    const oid = String(assertion.oid);
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        scope: TEAMS_RESOURCE_SCOPES.join(' '),
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: teamsToken(tenant, oid, clientId, Math.min(3600, assertion.exp - now + 600)),
        // As Entra ID answers MSAL, which asks for openid, profile, offline_access and client_info.
        ...(scopes.includes('openid') ? { id_token: mint({ aud: clientId, oid, tid: tenant, iss: issuerOf(tenant), scp: undefined, azp: undefined, azpacr: undefined }) } : {}),
        ...(scopes.includes('offline_access') ? { refresh_token: randomBytes(32).toString('base64url') } : {}),
        ...(form.client_info === '1' ? { client_info: Buffer.from(JSON.stringify({ uid: oid, utid: tenant })).toString('base64url') } : {}),
      },
    };
  }

  app.post<{ Params: { tenant: string }; Body: Record<string, string> }>('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    const form = request.body ?? {};
    const { status, body } = isDeviceCodeGrant(form) ? deviceCode.grant(form) : onBehalfOf(request.params.tenant, form);
    return reply.code(status).header('cache-control', 'no-store').send(body);
  });

  const deviceCode = registerDeviceCodeFlow(app, { authorityHost: () => authorityHost, defaultTenant: tenantId, mint, issuerOf, oauthError });
  const oidc = registerOidcIssuer(app, () => authorityHost, options.oidc);
  const managedIdentity = registerManagedIdentityEndpoint(app, () => authorityHost, tenantId, (claims, lifetimeSeconds) => mint(claims, {}, lifetimeSeconds));

  const address = await app.listen({ host, port: options.port ?? 0 });
  authorityHost = address;

  return {
    authorityHost,
    tenantId,
    clientId,
    clientSecret,
    caCertificate: tls?.cert,
    counters,
    get signingKey() {
      return keys[keys.length - 1]!;
    },
    requests,
    issuer: (tenant = tenantId) => issuerOf(tenant),
    mintAccessToken(options: MintOptions = {}) {
      return mint({
        ...(options.tenantId ? { tid: options.tenantId, iss: issuerOf(options.tenantId) } : {}),
        ...(options.objectId ? { oid: options.objectId } : {}),
        ...(options.scope ? { scp: options.scope } : {}),
        ...options.claims,
      }, options.header, options.lifetimeSeconds);
    },
    mintTeamsToken: (mintOptions = {}) => teamsToken(
      mintOptions.tenantId ?? tenantId,
      mintOptions.objectId ?? randomUUID(),
      mintOptions.appId ?? clientId,
      mintOptions.lifetimeSeconds,
    ),
    publicKeys: () => new Map(keys.map((key) => [key.kid, key.publicKey])),
    approveDeviceCode: (userCode, user) => deviceCode.approve(userCode, user),
    setTokenEndpointFault(fault) {
      tokenFault = fault;
    },
    rotateKey({ retireOld = false } = {}) {
      const key = newSigningKey();
      if (retireOld) keys.length = 0;
      keys.push(key);
      return key;
    },
    oidc,
    managedIdentity,
    close: () => app.close(),
  };
}
