// `npm run build` (after tsc): the production server as one file and a few chunks, made by
// esbuild from src/server.ts, written over tsc's dist/src/server.js (its chunks in
// dist/src/chunks/). A start then reads a handful of files instead of hundreds of modules
// resolved and read one by one, which was most of the time a start took. What loads lazily
// stays lazy: local mode is a chunk of its own, the API docs and the ACS SDK load from
// node_modules when used. Left out, and loaded from node_modules as before: what a production
// install leaves out (only local mode uses it, and without it local mode says so), and the
// packages in EXTERNAL. The rest of dist/ stays as tsc wrote it (the
// migration script, dist/src/db/migrateCli.js, runs from there).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { projectFile } from '../src/projectFiles.js';

// The Azure SDK (loaded lazily; bundled, the ACS client class its package exports came out
// undefined when imported dynamically), Swagger UI's static files, the OpenAPI meta-schemas of
// fastify-openapi-glue's validator (only used when dist/src/openapi-routes.json is missing), the
// worker files of pino's transports, ioredis (its error stacks name its own folder), pg's
// optional native binding; pg and pg-pool, which OpenTelemetry's instrumentation patches as
// Node loads them from node_modules (src/telemetry/bootstrap.ts): a bundled copy would escape it.
const EXTERNAL = ['@azure/*', '@fastify/swagger', '@fastify/swagger-ui', 'fastify-openapi-glue', 'ioredis', 'pg', 'pg-pool', 'pg-native', 'pino'];

// Local mode's code, which a configured service never loads (it is imported dynamically).
const LOCAL_MODE_CODE = /^(src\/local|emulators)\//;

/**
 * What a production install leaves out: the packages package-lock.json marks development-only.
 * Not every development dependency is one (the production packages need Ajv and fast-jwt too,
 * which must be bundled, or found where a production install puts them). Without a lock file
 * (a copy of the project for a test, which installs nothing for production), package.json's
 * development dependencies.
 */
function devOnlyPackages(): string[] {
  const lockFile = projectFile('package-lock.json');
  if (!existsSync(lockFile)) {
    const { devDependencies = {} } = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    return Object.keys(devDependencies);
  }
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
    .map(([path]) => path.slice('node_modules/'.length));
}

export async function bundleServer(outdir = projectFile('dist', 'src')): Promise<void> {
  const devOnly = devOnlyPackages();
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
  const { metafile } = await build({
    entryPoints: [projectFile('src', 'server.ts')],
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: true,
    // A module's source stays in memory for as long as the process runs: without comments and
    // indentation it is smaller, and its legal comments (some not ASCII, which would
    // make V8 hold the whole file as two bytes a character) go to a file of their own.
    minifyWhitespace: true,
    legalComments: 'external',
    external: [...EXTERNAL, ...devOnly],
    // The CommonJS packages in the bundle require Node's modules.
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
  });
  // What a start loads: the entry and the chunks it imports statically, never local mode's code.
  const outputs = metafile.outputs;
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const { path, kind } of outputs[file]!.imports) if (kind === 'import-statement' && outputs[path]) visit(path);
  };
  visit(Object.keys(outputs).find((file) => outputs[file]!.entryPoint !== undefined)!);
  const local = [...loaded].flatMap((file) => Object.keys(outputs[file]!.inputs)).filter((input) => LOCAL_MODE_CODE.test(input));
  if (local.length > 0) throw new Error(`The bundle loads local mode's code at every start: ${local.join(', ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await bundleServer();
