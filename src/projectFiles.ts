// Files that ship beside the code (openapi.yaml, migrations/). The code runs from src/ (tsx)
// or dist/src/ (tsc), so the project root is found by walking up to package.json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot();

export function projectFile(...parts: string[]): string {
  return join(PROJECT_ROOT, ...parts);
}
