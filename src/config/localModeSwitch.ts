// Whether the service runs in local mode (README): decided from the environment alone, so that
// a configured service never loads local mode's code (src/local/, the emulators, PGlite).

/** The settings whose presence means "configured mode": any one of them turns local mode off. */
export const AZURE_SETTINGS = ['ACS_CONNECTION_STRING', 'ACS_CONNECTION_STRING_FILE', 'ACS_ENDPOINT', 'AZURE_TENANT_ID', 'AUTH_ALLOWED_TENANTS', 'AZURE_CLIENT_ID'] as const;

export function isLocalMode(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV !== 'production' && AZURE_SETTINGS.every((name) => !env[name]);
}
