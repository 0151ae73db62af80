// Settings that may come from a file instead (NAME_FILE), as Kubernetes mounts secrets and
// config maps: the secrets, and AUTH_ISSUERS, a JSON document.
import { readFileSync } from 'node:fs';

export const SECRET_FILE_VARIABLES = ['DATABASE_URL', 'ACS_CONNECTION_STRING', 'AZURE_CLIENT_SECRET', 'AUDIT_HASH_KEY', 'METRICS_TOKEN', 'AUTH_ISSUERS'];

/** Sets each NAME from the file NAME_FILE names, trailing newline dropped. */
export function readSecretFiles(env: Record<string, string | undefined>, problems: string[]): void {
  for (const name of SECRET_FILE_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) {
      problems.push(`Set ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      env[name] = readFileSync(path, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE (${path}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}
