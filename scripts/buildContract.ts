// `npm run build` (after tsc): openapi.yaml parsed once, written as dist/src/openapi.json, which
// the built service reads at start instead of parsing YAML (src/http/contract.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { projectFile } from '../src/projectFiles.js';

export function buildContract(outfile = projectFile('dist', 'src', 'openapi.json')): void {
  writeFileSync(outfile, JSON.stringify(parse(readFileSync(projectFile('openapi.yaml'), 'utf8'))));
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) buildContract();
