// `npm run build` (after tsc): openapi.yaml parsed once and written as dist/src/openapi.json, and
// its routes, made by fastify-openapi-glue's parser after it checked the document against the
// OpenAPI meta-schema, as dist/src/openapi-routes.json. The built service reads both at start
// instead of parsing YAML and checking the contract again (src/http/contract.ts,
// src/http/contractRoutes.ts). A contract that is not valid OpenAPI fails the build.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadContract } from '../src/http/contract.js';
import { BUILT_ROUTES_FILE, parseContractRoutes } from '../src/http/contractRoutes.js';
import { projectFile } from '../src/projectFiles.js';

export async function buildContract(outdir = projectFile('dist', 'src')): Promise<void> {
  const contract = loadContract();
  const routes = await parseContractRoutes(contract);
  writeFileSync(join(outdir, 'openapi.json'), JSON.stringify(contract));
  writeFileSync(join(outdir, BUILT_ROUTES_FILE), JSON.stringify(routes));
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await buildContract();
