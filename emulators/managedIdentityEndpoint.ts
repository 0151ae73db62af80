// The managed identity endpoint of App Service and Container Apps, as the Entra ID emulator
// serves it: a process finds it in IDENTITY_ENDPOINT and proves it runs there with
// IDENTITY_HEADER, sent back as X-IDENTITY-HEADER; GET ?api-version=2019-08-01&resource=…
// (&client_id=… for a user-assigned identity) answers access_token, expires_on (seconds since
// the epoch, as a string), resource and token_type. @azure/identity's ManagedIdentityCredential
// (through MSAL) uses it when both variables are set.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const MANAGED_IDENTITY_PATH = '/msi/token';
const API_VERSION = '2019-08-01';

export interface ManagedIdentity {
  clientId: string;
  objectId: string;
}

/** What the endpoint answers instead of tokens until cleared: an error, or a wait first. */
export type ManagedIdentityFault = { status: number; message: string } | { delayMs: number };

export interface ManagedIdentityEndpoint {
  /** IDENTITY_ENDPOINT. */
  readonly endpoint: string;
  /** IDENTITY_HEADER: the secret a caller must send back. */
  readonly header: string;
  /** Tokens issued so far, by client id. */
  readonly issued: Map<string, number>;
  /** A user-assigned identity the endpoint hands tokens to. */
  addIdentity(): ManagedIdentity;
  /**
   * The token the endpoint hands `clientId`'s next request for `resource` (minted now, so its
   * lifetime runs from now): a test can make it a password before the service asks for it.
   */
  nextToken(clientId: string, resource: string, lifetimeSeconds?: number): string;
  setFault(fault: ManagedIdentityFault | undefined): void;
}

/** Mints a v1 access token with these claims (and lifetime); supplied by the Entra ID emulator. */
type Mint = (claims: Record<string, unknown>, lifetimeSeconds: number) => string;

// Managed identity tokens last about a day.
const DEFAULT_LIFETIME_SECONDS = 24 * 3600;

export function registerManagedIdentityEndpoint(app: FastifyInstance, origin: () => string, tenantId: string, mint: Mint): ManagedIdentityEndpoint {
  const header = randomBytes(16).toString('hex');
  const identities = new Map<string, ManagedIdentity>();
  const queued = new Map<string, Array<{ token: string; expiresOn: number }>>();
  const issued = new Map<string, number>();
  let fault: ManagedIdentityFault | undefined;

  const token = (identity: ManagedIdentity, resource: string, lifetimeSeconds: number) => ({
    token: mint({
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      tid: tenantId,
      oid: identity.objectId,
      sub: identity.objectId,
      appid: identity.clientId,
      appidacr: '2',
      idtyp: 'app',
      ver: '1.0',
      azp: undefined, azpacr: undefined, name: undefined, preferred_username: undefined, scp: undefined,
    }, lifetimeSeconds),
    expiresOn: Math.floor(Date.now() / 1000) + lifetimeSeconds,
  });
  const problem = (status: number, message: string) => ({ status, body: { statusCode: status, message, correlationId: randomUUID() } });

  app.get<{ Querystring: Record<string, string | undefined> }>(MANAGED_IDENTITY_PATH, async (request, reply) => {
    if (fault && 'delayMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault && 'delayMs' in fault ? fault.delayMs : 0));
      // The caller may have given up: no keep-alive connection left to hold the emulator's close.
      void reply.header('connection', 'close');
    }
    const answer = (() => {
      if (fault && 'status' in fault) return problem(fault.status, fault.message);
      if (request.headers['x-identity-header'] !== header) return problem(401, 'The X-IDENTITY-HEADER header is missing or wrong.');
      const { resource, client_id: clientId } = request.query;
      if (request.query['api-version'] !== API_VERSION) return problem(400, `api-version must be ${API_VERSION}.`);
      if (!resource) return problem(400, 'The resource parameter is required.');
      const identity = clientId === undefined ? undefined : identities.get(clientId);
      if (!identity) return problem(400, 'Unable to load the proper Managed Identity.');
      const key = `${identity.clientId} ${resource}`;
      const next = queued.get(key)?.shift() ?? token(identity, resource, DEFAULT_LIFETIME_SECONDS);
      issued.set(identity.clientId, (issued.get(identity.clientId) ?? 0) + 1);
      return { status: 200, body: { access_token: next.token, expires_on: String(next.expiresOn), resource, token_type: 'Bearer', client_id: identity.clientId } };
    })();
    return reply.code(answer.status).header('cache-control', 'no-store').send(answer.body);
  });

  return {
    get endpoint() {
      return `${origin()}${MANAGED_IDENTITY_PATH}`;
    },
    header,
    issued,
    addIdentity() {
      const identity = { clientId: randomUUID(), objectId: randomUUID() };
      identities.set(identity.clientId, identity);
      return identity;
    },
    nextToken(clientId, resource, lifetimeSeconds = DEFAULT_LIFETIME_SECONDS) {
      const identity = identities.get(clientId);
      if (!identity) throw new Error(`No managed identity ${clientId}: addIdentity() first`);
      const next = token(identity, resource, lifetimeSeconds);
      const key = `${clientId} ${resource}`;
      queued.set(key, [...(queued.get(key) ?? []), next]);
      return next.token;
    },
    setFault(next) {
      fault = next;
    },
  };
}
