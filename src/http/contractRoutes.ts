// The contract's operations as Fastify routes (method, URL, schemas), as fastify-openapi-glue
// makes them. The plugin first checks the document against the OpenAPI meta-schema, and
// compiling that schema is a large part of a start's CPU: a build does it once
// (scripts/buildContract.ts) and writes the routes beside the compiled code
// (dist/src/openapi-routes.json), which the built service reads. Run from its sources (npm run
// dev, the tests), the service makes them at every start, so a contract that is not valid
// OpenAPI fails there as it fails the build.
import { readFileSync } from 'node:fs';
import type { FastifySchema, HTTPMethods } from 'fastify';
import { builtFromContract } from './contract.js';

export interface ContractRoute {
  method: HTTPMethods;
  url: string;
  schema: FastifySchema;
  operationId: string;
  /** The operation's path as openapi.yaml writes it (`url` is Fastify's form of it). */
  openapiPath: string;
}

export const BUILT_ROUTES_FILE = 'openapi-routes.json';

/**
 * Checks `contract` against the OpenAPI meta-schema (rejects if it is not valid) and makes its
 * routes: fastify-openapi-glue registers them on a Fastify instance of its own, which keeps them.
 */
export async function parseContractRoutes(contract: Record<string, unknown>): Promise<ContractRoute[]> {
  const [{ default: Fastify }, { default: openapiGlue }] = await Promise.all([import('fastify'), import('fastify-openapi-glue')]);
  const routes: ContractRoute[] = [];
  const openapiPaths = new Map<string, string>();
  // No HEAD route beside each GET: the contract has none (HEAD /api/token would issue a token).
  const parser = Fastify({ exposeHeadRoutes: false });
  // The plugin asks for each operation's handler just before it registers its route.
  parser.addHook('onRoute', ({ method, url, schema }) => {
    const operationId = (schema as { operationId: string }).operationId;
    routes.push(structuredClone({ method: method as HTTPMethods, url, schema: schema!, operationId, openapiPath: openapiPaths.get(operationId)! }));
  });
  await parser.register(openapiGlue, {
    specification: structuredClone(contract),
    operationResolver: (operationId: string, _method: string, path: string) => {
      openapiPaths.set(operationId, path);
      return () => undefined;
    },
  });
  await parser.close();
  return routes;
}

/** The routes of `contract` (openapi.yaml, from loadContract): the build's, else made now. */
export async function loadContractRoutes(contract: Record<string, unknown>): Promise<ContractRoute[]> {
  const built = builtFromContract(BUILT_ROUTES_FILE);
  if (built) return JSON.parse(readFileSync(built, 'utf8')) as ContractRoute[];
  return parseContractRoutes(contract);
}
