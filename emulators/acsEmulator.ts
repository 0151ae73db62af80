// Local emulator of the ACS Identity data-plane REST API (api-version 2023-10-01), faithful
// enough for the real `CommunicationIdentityClient` to talk to it over loopback http:
// same paths, bodies, status codes, error shape and HMAC request signing.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { ACS_MAX_TOKEN_MINUTES, ACS_MIN_TOKEN_MINUTES, ACS_TOKEN_SCOPES, TEAMS_RESOURCE, TEAMS_SCOPES } from './azureFacts.js';
import { isLoopbackHost } from './loopback.js';

export interface AcsEmulatorOptions {
  host?: string;
  port?: number;
  accessKey?: string;
  resourceName?: string;
  /** Identities that exist from the start (local mode restores them from its data folder). */
  identities?: string[];
  /** Called with the live identity ids after each creation or deletion (local mode saves them). */
  onIdentitiesChange?: (ids: string[]) => void;
  /** Tokens live at most this long, whatever was asked (local mode's demo shows a refresh). */
  tokenLifetimeSeconds?: number;
}
export interface AcsEmulatorCounters {
  requests: number;
  identitiesCreated: number;
  tokensIssued: number;
  revocations: number;
  deletions: number;
  teamsExchanges: number;
  rejectedSignatures: number;
  /** Connections dropped while switched off. */
  dropped: number;
}
export type AcsOperation = 'createIdentity' | 'issueToken' | 'revokeTokens' | 'deleteIdentity' | 'exchangeTeamsToken';
export interface AcsFault {
  status: number;
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
  times?: number;
  operations?: AcsOperation[];
}
export interface AcsTokenClaims {
  jti: string;
  skypeid: string;
  scp: number;
  csi: string;
  exp: number;
  iat: number;
  acsScope: string;
  resourceId: string;
}
export interface AcsEmulator {
  readonly endpoint: string;
  readonly connectionString: string;
  readonly counters: AcsEmulatorCounters;
  resetCounters(): void;
  identityIds(): string[];
  hasIdentity(id: string): boolean;
  /** Makes identities of this resource exist (local mode: ids its database maps to). */
  adoptIdentities(ids: string[]): void;
  decodeToken(token: string): AcsTokenClaims | undefined;
  isTokenValid(token: string): boolean;
  injectFault(fault: AcsFault): void;
  setHang(hang: boolean, operations?: AcsOperation[]): void;
  setLatency(ms: number): void;
  clearFaults(): void;
  /** Off: every connection is dropped unanswered (ACS unreachable); on again: normal service. */
  setOffline(offline: boolean): void;
  close(): Promise<void>;
}

export const ACS_API_VERSION = '2023-10-01';
const DEFAULT_LIFETIME_MINUTES = ACS_MAX_TOKEN_MINUTES;
const MAX_CLOCK_SKEW_MS = 15 * 60_000;
const SIGNED_HEADERS = 'x-ms-date;host;x-ms-content-sha256';

class AcsError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly target?: string) {
    super(message);
  }
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Payload of a JWT without checking its signature (what ACS does with Teams tokens it trusts via Entra). */
function jwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AcsError(400, 'InvalidRequestBody', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AcsError(400, 'InvalidRequestBody', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function validateScopes(value: unknown, target: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new AcsError(400, 'ValidationError', `The '${target}' field must be a non-empty list of scopes.`, target);
  }
  for (const scope of value) {
    if (typeof scope !== 'string' || !ACS_TOKEN_SCOPES.includes(scope)) {
      throw new AcsError(400, 'ValidationError', `Scope '${String(scope)}' is not valid.`, target);
    }
  }
  return value as string[];
}

function validateLifetime(value: unknown): number {
  if (value === undefined) return DEFAULT_LIFETIME_MINUTES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < ACS_MIN_TOKEN_MINUTES || value > ACS_MAX_TOKEN_MINUTES) {
    throw new AcsError(400, 'ValidationError', 'The expiresInMinutes must be an integer between 60 and 1440.', 'expiresInMinutes');
  }
  return value;
}

/** Routes on the raw path: ids arrive percent-encoded, as `/identities/<id>/:issueAccessToken`. */
function route(method: string, path: string): { operation: AcsOperation; id?: string } | undefined {
  if (method === 'POST' && path === '/identities') return { operation: 'createIdentity' };
  if (method === 'POST' && path === '/teamsUser/:exchangeAccessToken') return { operation: 'exchangeTeamsToken' };
  const m = /^\/identities\/([^/]+)(\/:issueAccessToken|\/:revokeAccessTokens)?$/.exec(path);
  if (!m?.[1]) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  if (method === 'DELETE' && !m[2]) return { operation: 'deleteIdentity', id };
  if (method === 'POST' && m[2] === '/:issueAccessToken') return { operation: 'issueToken', id };
  if (method === 'POST' && m[2] === '/:revokeAccessTokens') return { operation: 'revokeTokens', id };
  return undefined;
}

export async function startAcsEmulator(options: AcsEmulatorOptions = {}): Promise<AcsEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`ACS emulator refuses to listen on non-loopback host '${host}'`);
  const accessKey = options.accessKey ?? randomBytes(32).toString('base64');
  const key = Buffer.from(accessKey, 'base64');
  const resourceName = options.resourceName ?? randomUUID();
  const idPrefix = `8:acs:${resourceName}_`;
  const tokenSecret = randomBytes(32);

  const counters: AcsEmulatorCounters = {
    requests: 0, identitiesCreated: 0, tokensIssued: 0, revocations: 0, deletions: 0, teamsExchanges: 0, rejectedSignatures: 0, dropped: 0,
  };
  // Identity id -> sequence number of its last revocation. A global sequence (not the clock)
  // orders issues and revocations, so a token issued right after a revoke is still valid.
  const identities = new Map<string, number>((options.identities ?? []).map((id) => [id, 0]));
  const identitiesChanged = () => options.onIdentitiesChange?.([...identities.keys()]);
  const tokenSeq = new Map<string, number>(); // jti -> sequence number at issue
  let seq = 0;
  let faults: Array<AcsFault & { remaining: number }> = [];
  let hangOps: Set<AcsOperation> | undefined;
  const hung = new Set<{ release: () => void; socket: Socket }>();
  let latencyMs = 0;
  const ALL_OPERATIONS: AcsOperation[] = ['createIdentity', 'issueToken', 'revokeTokens', 'deleteIdentity', 'exchangeTeamsToken'];
  function setHang(on: boolean, operations: AcsOperation[] = ALL_OPERATIONS): void {
    hangOps = on ? new Set(operations) : undefined;
    if (!on) for (const entry of hung) entry.release();
  }

  function sign(payload: AcsTokenClaims): string {
    const unsigned = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
    return `${unsigned}.${createHmac('sha256', tokenSecret).update(unsigned).digest('base64url')}`;
  }

  function issue(skypeid: string, scopes: string[], lifetimeSeconds: number, iat = Math.floor(Date.now() / 1000)) {
    const exp = iat + Math.min(lifetimeSeconds, options.tokenLifetimeSeconds ?? Infinity);
    // jti keeps two tokens issued in the same second with the same claims distinct.
    const jti = randomUUID();
    const token = sign({ jti, skypeid, scp: 1792, csi: String(iat), exp, iat, acsScope: scopes.join(','), resourceId: resourceName });
    tokenSeq.set(jti, ++seq);
    return { token, expiresOn: new Date(exp * 1000).toISOString() };
  }

  function decodeToken(token: string): AcsTokenClaims | undefined {
    const [header, payload, signature] = token.split('.');
    if (header === undefined || payload === undefined || signature === undefined) return undefined;
    const expected = createHmac('sha256', tokenSecret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AcsTokenClaims;
  }

  function requireIdentity(id: string): void {
    if (!id.startsWith(idPrefix)) throw new AcsError(401, 'IdentityNotOwned', "Provided identity doesn't belong to the resource.");
    if (!identities.has(id)) throw new AcsError(404, 'IdentityNotFound', `Identity '${id}' was not found.`);
  }

  function authenticate(request: FastifyRequest, raw: Buffer): void {
    const h = request.headers;
    const auth = /^HMAC-SHA256 SignedHeaders=([^&]+)&Signature=(.+)$/.exec(String(h.authorization ?? ''));
    const date = h['x-ms-date'];
    const contentHash = h['x-ms-content-sha256'];
    let reason: string | undefined;
    if (!auth || auth[1] !== SIGNED_HEADERS) reason = 'Missing or malformed HMAC-SHA256 Authorization header.';
    else if (typeof date !== 'string' || typeof contentHash !== 'string' || typeof h.host !== 'string') reason = 'Missing x-ms-date, host or x-ms-content-sha256 header.';
    else if (contentHash !== createHash('sha256').update(raw).digest('base64')) reason = 'x-ms-content-sha256 does not match the request body.';
    else if (!(Math.abs(Date.now() - Date.parse(date)) <= MAX_CLOCK_SKEW_MS)) reason = 'x-ms-date is missing, invalid or more than 15 minutes from the server time.';
    else {
      const stringToSign = `${request.method}\n${request.raw.url ?? ''}\n${date};${h.host};${contentHash}`;
      const expected = createHmac('sha256', key).update(stringToSign).digest();
      const given = Buffer.from(auth[2] ?? '', 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) reason = 'The request signature is invalid.';
    }
    if (reason) {
      counters.rejectedSignatures++;
      throw new AcsError(401, 'Denied', `Denied by the resource provider. ${reason}`);
    }
  }

  /** Parks a request until the client goes away, the hang is lifted or the emulator closes. */
  async function hang(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    await new Promise<void>((resolve) => {
      const entry = { release: () => { hung.delete(entry); resolve(); }, socket: request.raw.socket };
      hung.add(entry);
      reply.raw.once('close', entry.release);
    });
    return !request.raw.socket.destroyed;
  }

  const app = Fastify({ logger: false });
  // Keep the exact bytes for the content hash; JSON is parsed by the handler (empty body = {}).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  let offline = false;
  app.addHook('onRequest', async (request) => {
    // Switched off: the connection drops without an answer, as when ACS cannot be reached.
    if (offline) {
      counters.dropped++;
      request.raw.socket.destroy();
      return;
    }
    counters.requests++;
  });
  app.addHook('onSend', async () => { if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs)); });
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    const e = err instanceof AcsError ? err : new AcsError(err.statusCode ?? 500, err.statusCode && err.statusCode < 500 ? 'BadRequest' : 'InternalError', err.message);
    return reply.code(e.status).type('application/json')
      .send({ error: { code: e.code, message: e.message, ...(e.target ? { target: e.target } : {}) } });
  });

  app.all('/*', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    authenticate(request, raw);
    const [path = '', query = ''] = (request.raw.url ?? '').split('?', 2);
    const apiVersion = new URLSearchParams(query).get('api-version');
    if (apiVersion !== ACS_API_VERSION) {
      throw new AcsError(400, apiVersion === null ? 'MissingApiVersionParameter' : 'UnsupportedApiVersion',
        apiVersion === null ? "The 'api-version' query parameter is required." : `The api-version '${apiVersion}' is not supported; use '${ACS_API_VERSION}'.`);
    }
    const target = route(request.method, path);
    if (!target) throw new AcsError(404, 'NotFound', `No operation matches ${request.method} ${path}.`);
    const { operation, id = '' } = target;

    if (hangOps?.has(operation) && !(await hang(request, reply))) return reply.hijack();
    const fault = faults.find((f) => !f.operations || f.operations.includes(operation));
    if (fault) {
      if (--fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
      if (fault.retryAfterSeconds !== undefined) reply.header('retry-after', String(fault.retryAfterSeconds));
      throw new AcsError(fault.status, fault.code ?? (fault.status === 429 ? 'TooManyRequests' : 'InjectedFault'), fault.message ?? `Injected fault (${fault.status}).`);
    }

    const body = parseBody(raw);
    switch (operation) {
      case 'createIdentity': {
        const scopes = body.createTokenWithScopes === undefined ? undefined : validateScopes(body.createTokenWithScopes, 'createTokenWithScopes');
        const minutes = validateLifetime(body.expiresInMinutes);
        const newId = `${idPrefix}${randomUUID()}`;
        identities.set(newId, 0);
        identitiesChanged();
        counters.identitiesCreated++;
        if (!scopes) return reply.code(201).send({ identity: { id: newId } });
        counters.tokensIssued++;
        return reply.code(201).send({ identity: { id: newId }, accessToken: issue(newId.slice(2), scopes, minutes * 60) });
      }
      case 'issueToken': {
        requireIdentity(id);
        const scopes = validateScopes(body.scopes, 'scopes');
        const minutes = validateLifetime(body.expiresInMinutes);
        counters.tokensIssued++;
        return reply.code(200).send(issue(id.slice(2), scopes, minutes * 60));
      }
      case 'revokeTokens':
        requireIdentity(id);
        identities.set(id, ++seq);
        counters.revocations++;
        return reply.code(204).send();
      case 'deleteIdentity':
        requireIdentity(id);
        identities.delete(id);
        identitiesChanged();
        counters.deletions++;
        return reply.code(204).send();
      case 'exchangeTeamsToken': {
        for (const field of ['token', 'appId', 'userId']) {
          if (typeof body[field] !== 'string' || body[field] === '') throw new AcsError(400, 'ValidationError', `The '${field}' field is required.`, field);
        }
        const claims = jwtPayload(body.token as string);
        const iat = Math.floor(Date.now() / 1000);
        // A Teams token is issued for the Communication Services API with its Teams scopes.
        const scopes = typeof claims?.scp === 'string' ? claims.scp.split(' ') : [];
        if (!claims || typeof claims.exp !== 'number' || claims.exp <= iat || claims.aud !== TEAMS_RESOURCE
          || !TEAMS_SCOPES.every((scope) => scopes.includes(scope))) {
          throw new AcsError(401, 'InvalidAccessToken', 'Provided access token is not valid or has expired.');
        }
        if (claims.appid !== body.appId) throw new AcsError(400, 'ValidationError', 'The appId does not match the appid claim of the token.', 'appId');
        if (claims.oid !== body.userId) throw new AcsError(400, 'ValidationError', 'The userId does not match the oid claim of the token.', 'userId');
        counters.teamsExchanges++;
        // The ACS token lives as long as the Teams token, capped at the ACS maximum.
        const lifetime = Math.min(Math.floor(claims.exp) - iat, DEFAULT_LIFETIME_MINUTES * 60);
        return reply.code(200).send(issue(`orgid:${String(claims.oid)}`, ['voip'], lifetime, iat));
      }
    }
  });

  await app.listen({ host, port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    endpoint,
    connectionString: `endpoint=${endpoint}/;accesskey=${accessKey}`,
    counters,
    resetCounters() {
      for (const k of Object.keys(counters) as Array<keyof AcsEmulatorCounters>) counters[k] = 0;
    },
    identityIds: () => [...identities.keys()],
    hasIdentity: (id) => identities.has(id),
    adoptIdentities(ids) {
      const adopted = ids.filter((id) => id.startsWith(idPrefix) && !identities.has(id));
      for (const id of adopted) identities.set(id, 0);
      if (adopted.length > 0) identitiesChanged();
    },
    decodeToken,
    isTokenValid(token) {
      const claims = decodeToken(token);
      if (!claims || claims.exp * 1000 <= Date.now()) return false;
      if (!claims.skypeid.startsWith('acs:')) return true; // Teams users have no ACS identity lifecycle
      const revokedAt = identities.get(`8:${claims.skypeid}`);
      return revokedAt !== undefined && (tokenSeq.get(claims.jti) ?? 0) > revokedAt;
    },
    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    setHang,
    setLatency(ms) {
      latencyMs = ms;
    },
    clearFaults() {
      faults = [];
      latencyMs = 0;
      setHang(false);
      offline = false;
    },
    setOffline(value) {
      offline = value;
    },
    async close() {
      for (const entry of hung) entry.socket.destroy();
      await app.close();
    },
  };
}
