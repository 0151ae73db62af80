// Checks a response against openapi.yaml: the status must be documented for the operation,
// the media type must be one it lists, and the body must match that media type's schema.
import { mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadContract } from '../../src/http/contract.js';
import { PROJECT_ROOT, projectFile } from '../../src/projectFiles.js';

// Which operation answered which status in this test file: written when the file's process
// ends, read by scripts/contractCoverage.ts after the run.
export const CONTRACT_COVERAGE_DIR = projectFile('.tap', 'contract-coverage');
const produced = new Set<string>();
process.on('exit', () => {
  if (produced.size === 0) return;
  mkdirSync(CONTRACT_COVERAGE_DIR, { recursive: true });
  const file = relative(PROJECT_ROOT, process.argv[1] ?? 'unknown');
  writeFileSync(`${CONTRACT_COVERAGE_DIR}/${process.pid}.json`, JSON.stringify({ file, produced: [...produced] }));
});

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const contract = loadContract() as { paths: Record<string, Record<string, Omit<Operation, 'pointer'> | undefined>> } & Record<string, unknown>;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(contract, 'openapi');

const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const validators = new Map<string, ValidateFunction>();

interface Operation {
  operationId: string;
  pointer: string;
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}

// Paths with parameters (`/admin/erasures/{id}`) as patterns of one segment per parameter.
const templates = Object.keys(contract.paths).filter((path) => path.includes('{'))
  .map((path) => ({ path, pattern: new RegExp(`^${path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`) }));

/** The contract's operation for a method and a concrete path, if the contract has one. */
export function findOperation(method: string, path: string): Operation | undefined {
  const template = contract.paths[path] ? path : templates.find(({ pattern }) => pattern.test(path))?.path;
  const spec = template === undefined ? undefined : contract.paths[template]?.[method.toLowerCase()];
  if (!spec) return undefined;
  return { operationId: spec.operationId, pointer: `#/paths/${escape(template!)}/${method.toLowerCase()}`, responses: spec.responses };
}

function resolveRef(ref: string): Operation['responses'][string] {
  const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')], contract);
  return target as Operation['responses'][string];
}

export interface ResponseLike {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Throws an Error naming what differs; returns the parsed body (or undefined when empty). */
export function assertMatchesContract(method: string, path: string, response: ResponseLike): unknown {
  const operation = findOperation(method, path);
  if (!operation) throw new Error(`${method} ${path} is not in openapi.yaml`);
  const status = String(response.statusCode);
  const documented = operation.responses[status];
  if (!documented) throw new Error(`${operation.operationId} answered ${status}, which openapi.yaml does not document`);
  produced.add(`${operation.operationId} ${status}`);
  const responsePointer = documented.$ref ?? `${operation.pointer}/responses/${status}`;
  const content = (documented.$ref ? resolveRef(documented.$ref) : documented).content;
  if (!content) {
    if (response.body !== '') throw new Error(`${operation.operationId} ${status} must have no body, got: ${response.body.slice(0, 200)}`);
    return undefined;
  }
  const contentType = response.headers['content-type'];
  const mediaType = (typeof contentType === 'string' ? contentType : '').split(';')[0]!.trim();
  if (!(mediaType in content)) throw new Error(`${operation.operationId} ${status} answered ${mediaType}; documented: ${Object.keys(content).join(', ')}`);
  const key = `${responsePointer}/content/${escape(mediaType)}/schema`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi${key}` });
    validators.set(key, validate);
  }
  const body: unknown = JSON.parse(response.body);
  if (!validate(body)) {
    throw new Error(`${operation.operationId} ${status} body does not match openapi.yaml: ${ajv.errorsText(validate.errors)}; body: ${response.body.slice(0, 300)}`);
  }
  return body;
}
