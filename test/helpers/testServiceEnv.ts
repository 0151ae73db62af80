// The settings that point a service at the emulators and a database: the one place for every
// test service (in this process or a process of its own) and the bench's.

export interface TestServiceTargets {
  entra: { tenantId: string; clientId: string; authorityHost: string };
  acs: { connectionString: string };
  /** A test database, with the settings a service needs on its kind; or just where one is. */
  database: { url: string; settings?: Record<string, string> };
  /** Shed load as production does (the bench, the start-up profile); the tests' services do not. */
  shedLoad?: boolean;
}

export function testServiceEnv({ entra, acs, database, shedLoad = false }: TestServiceTargets): Record<string, string> {
  return {
    ...database.settings,
    DATABASE_URL: database.url,
    ACS_CONNECTION_STRING: acs.connectionString,
    AZURE_TENANT_ID: entra.tenantId,
    AZURE_CLIENT_ID: entra.clientId,
    AZURE_AUTHORITY_HOST: entra.authorityHost,
    // Off: these services share a machine, or a process, with their clients and other replicas,
    // which keep the event loop behind on purpose; test/loadShedding.test.ts turns it on.
    ...(shedLoad ? {} : { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' }),
  };
}
