// The contract (openapi.yaml) at run time, and the types that bind handlers to it: a handler
// for operation X may only answer the statuses and bodies openapi.yaml lists for X.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault, RouteGenericInterface, RouteHandlerMethod } from 'fastify';
import type { operations } from '../generated/api-types.js';
import { projectFile } from '../projectFiles.js';

export type OperationId = keyof operations;

// The built service's folder (dist/src/). Run from its sources (tsx), this module is a .ts file
// and reads openapi.yaml itself, whatever a build left in dist/.
const BUILT = import.meta.url.endsWith('.js') ? projectFile('dist', 'src') : undefined;

/**
 * A file the build made of openapi.yaml (scripts/buildContract.ts), when this is the built
 * service and the file is there; not when openapi.yaml changed after the build.
 */
export function builtFromContract(name: string): string | undefined {
  if (!BUILT) return undefined;
  const built = join(BUILT, name);
  const source = projectFile('openapi.yaml');
  return existsSync(built) && (!existsSync(source) || statSync(built).mtimeMs >= statSync(source).mtimeMs) ? built : undefined;
}

/**
 * openapi.yaml, parsed. Callers that change it must clone it first. A build writes it parsed
 * beside the compiled code (dist/src/openapi.json): the built service reads that, and loads no
 * YAML parser.
 */
export function loadContract(): Record<string, unknown> {
  const built = builtFromContract('openapi.json');
  if (built) return JSON.parse(readFileSync(built, 'utf8')) as Record<string, unknown>;
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(readFileSync(projectFile('openapi.yaml'), 'utf8')) as Record<string, unknown>;
}

type Responses<Op extends OperationId> = operations[Op]['responses'];
type BodyOf<R> = R extends { content: infer C } ? C[keyof C] : undefined;

/** Fastify's route generic for an operation: its query string and its replies by status. */
export interface RouteOf<Op extends OperationId> extends RouteGenericInterface {
  Querystring: NonNullable<operations[Op]['parameters']['query']>;
  Reply: { [Status in keyof Responses<Op>]: BodyOf<Responses<Op>[Status]> };
}

export type OperationHandler<Op extends OperationId> = RouteHandlerMethod<
  RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, RouteOf<Op>
>;

/** One handler per operation of the contract: a missing or extra one is a type error. */
export type OperationHandlers = { [Op in OperationId]: OperationHandler<Op> };

export type Schemas = import('../generated/api-types.js').components['schemas'];
