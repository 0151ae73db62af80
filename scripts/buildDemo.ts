// `npm run build` (after tsc): the demo page (demo/) bundled with esbuild into dist/demo/ —
// index.html, styles.css and one app.js with its libraries (MSAL, ACS common), so the page
// loads nothing from a CDN. The service serves it at /demo.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { projectFile } from '../src/projectFiles.js';

export async function buildDemo(outdir = projectFile('dist', 'demo')): Promise<void> {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [projectFile('demo', 'src', 'main.ts')],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'styles.css']) copyFileSync(projectFile('demo', file), join(outdir, file));
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await buildDemo();
