// Node module hooks for a service process, given through NODE_OPTIONS: they write down every
// module the process resolves (which files a start loads), and can make packages missing, as
// a production install (npm ci --omit=dev) leaves development dependencies out. The hooks run
// in Node's hooks thread before any TypeScript loader, so they are plain JavaScript, passed as
// data: URLs.

export interface ModuleHookOptions {
  /** A file that gets one line per resolved module URL. */
  logFile?: string;
  /** Package names whose import fails as a package that is not installed. */
  missing?: string[];
}

function hooksSource({ logFile, missing = [] }: ModuleHookOptions): string {
  return `
import { appendFileSync } from 'node:fs';
const logFile = ${JSON.stringify(logFile ?? null)};
const missing = ${JSON.stringify(missing)};
export async function resolve(specifier, context, nextResolve) {
  if (missing.some((name) => specifier === name || specifier.startsWith(name + '/'))) {
    const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  const resolved = await nextResolve(specifier, context);
  if (logFile) appendFileSync(logFile, resolved.url + '\\n');
  return resolved;
}`;
}

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;

/** NODE_OPTIONS that install the hooks in a child process. */
export function moduleHooksNodeOptions(options: ModuleHookOptions): string {
  const register = `import { register } from 'node:module'; register(${JSON.stringify(dataUrl(hooksSource(options)))});`;
  return `--import=${dataUrl(register)}`;
}
