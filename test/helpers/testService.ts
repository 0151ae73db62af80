// The service as tests use it: built from a real configuration (loadConfig) against a fresh
// PostgreSQL database and the local Entra ID and ACS emulators on loopback. Nothing of ours is
// replaced; the emulators are what the real SDK clients talk to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { startAcsEmulator, type AcsEmulator } from '../../emulators/acsEmulator.js';
import { startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions, type MintOptions } from '../../emulators/entraEmulator.js';
import { assertMatchesContract, findOperation } from './contractValidator.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';
import { testServiceEnv } from './testServiceEnv.js';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'OPTIONS' | 'HEAD';
  url: string;
  /** Sent as `Authorization: Bearer <token>`; omit for none. */
  token?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
}

export interface CheckedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** The parsed body, already checked against openapi.yaml. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read bodies whose shape the contract check has already proved
  json: any;
}

export interface TestService {
  app: FastifyInstance;
  entra: EntraEmulator;
  acs: AcsEmulator;
  database: TestDatabase;
  /** A direct connection to the test database, for checking what the service stored. */
  db: pg.Pool;
  /** A valid user token for this service; same `objectId` = same user. */
  userToken(options?: MintOptions): string;
  /** Calls the service; every answer of a contract route is checked against openapi.yaml. */
  request(options: RequestOptions): Promise<CheckedResponse>;
  /** Rows of acs_identities and acs_identity_deletions, to check that nothing changed. */
  snapshot(): Promise<{ identities: unknown[]; deletions: unknown[] }>;
}

interface Tap {
  teardown(fn: () => unknown): void;
}

export interface TestServiceOptions {
  /** Start on an empty database instead of a migrated one. */
  migrated?: boolean;
  /** Receives the service's log lines (set LOG_LEVEL too). */
  logStream?: { write(line: string): void };
  /** Options of the Entra ID emulator; with `tls`, the service is told to trust its certificate. */
  entra?: EntraEmulatorOptions;
}

/**
 * Another replica of `svc`: a second app on the same database and emulators, with `env` on top
 * of the same settings (and `options`, e.g. a clock of its own). Closed at `t`'s teardown.
 */
export async function startOtherReplica(t: Tap, svc: TestService, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  const other = await buildApp(loadConfig({
    ...testServiceEnv(svc),
    LOG_LEVEL: 'silent',
    ...env,
  }), options);
  await other.ready();
  t.teardown(() => other.close());
  return other;
}

/** `env` may depend on the Entra ID emulator (its issuers' URLs are known once it listens). */
export async function startTestService(
  t: Tap, env: Record<string, string> | ((entra: EntraEmulator) => Record<string, string>) = {}, options: TestServiceOptions = {},
): Promise<TestService> {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(options.entra), startAcsEmulator(), createTestDatabase({ migrated: options.migrated })]);
  const caFile = entra.caCertificate === undefined ? undefined : join(mkdtempSync(join(tmpdir(), 'acs-test-ca-')), 'authority-ca.pem');
  if (caFile) writeFileSync(caFile, entra.caCertificate!);
  const config = loadConfig({
    ...testServiceEnv({ entra, acs, database }),
    ACS_REQUEST_TIMEOUT_MS: '1000',
    // Logs are kept and searched at the end for every token the test used or received.
    LOG_LEVEL: 'info',
    // Most tests count ACS calls per request: token reuse is tested where it is switched on.
    ACS_TOKEN_REUSE_SECONDS: '0',
    // …and make more ACS calls per user than the default budget allows: it is tested on its own.
    ACS_CALLS_PER_USER_PER_MINUTE: '1000',
    ...(caFile ? { AZURE_AUTHORITY_CA_FILE: caFile } : {}),
    ...(typeof env === 'function' ? env(entra) : env),
  });
  const logLines: string[] = [];
  const secrets = new Set<string>();
  const keepSecret = (value: string | undefined) => {
    // The signature part is enough to recognise a JWT; anything long enough to be a token.
    const part = value?.replace(/^Bearer /i, '').split('.')[2] ?? value;
    if (part && part.length >= 16) secrets.add(part);
  };
  const app = await buildApp(config, {
    logStream: { write: (line) => { logLines.push(line); options.logStream?.write(line); } },
  });
  await app.ready();
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  // pool.end() resolves before its sockets close; the DROP … WITH (FORCE) of the teardown may
  // then kill one, which the pool reports as an 'error' event.
  db.on('error', () => undefined);
  t.teardown(async () => {
    await app.close();
    const log = logLines.join('');
    const leaked = [...secrets].filter((secret) => log.includes(secret));
    if (leaked.length > 0) throw new Error(`${leaked.length} token(s) of this test appear in the service's logs`);
    await db.end();
    await Promise.all([entra.close(), acs.close()]);
    await database.drop();
    if (caFile) rmSync(dirname(caFile), { recursive: true, force: true });
  });
  return {
    app, entra, acs, database, db,
    userToken: (options) => {
      const token = entra.mintAccessToken(options);
      keepSecret(token);
      return token;
    },
    async request({ method = 'GET', url, token, headers = {}, body }) {
      keepSecret(token);
      for (const name of ['authorization', 'teams-user-aad-token']) {
        const value = headers[name];
        for (const one of Array.isArray(value) ? value : [value]) keepSecret(one);
      }
      const response = await app.inject({
        method,
        url,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
        ...(body === undefined ? {} : { payload: body }),
      });
      const path = url.split('?')[0]!;
      const json = findOperation(method, path)
        ? assertMatchesContract(method, path, response)
        : response.body && (JSON.parse(response.body) as unknown);
      const issued = (json as { token?: unknown } | undefined)?.token;
      if (typeof issued === 'string') keepSecret(issued);
      return { statusCode: response.statusCode, headers: response.headers, body: response.body, json };
    },
    async snapshot() {
      const identities = await db.query('SELECT * FROM acs_identities ORDER BY tenant_id, object_id');
      const deletions = await db.query('SELECT * FROM acs_identity_deletions ORDER BY acs_user_id');
      return { identities: identities.rows, deletions: deletions.rows };
    },
  };
}
