// An API operation refuses query parameters it does not take, rather than ignoring them: a
// misspelt one (the old samples' `scope` for `scopes`) would otherwise be answered with the
// defaults, as if it had been honoured. Fastify's Ajv strips extra properties instead of
// refusing them (removeAdditional), so the check is done here, from the contract's parameters.
import type { preValidationHookHandler } from 'fastify';
import { HttpProblem, type InvalidParam } from './httpProblem.js';

// What a client that sends the first most likely meant.
const MEANT: Record<string, string> = { scope: 'scopes' };

type Parameter = { $ref?: string; name?: string; in?: string };

function resolve(contract: Record<string, unknown>, parameter: Parameter): Parameter {
  if (!parameter.$ref) return parameter;
  const path = parameter.$ref.replace(/^#\//, '').split('/');
  const target = path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], contract);
  return (target as Parameter | undefined) ?? {};
}

/** A preValidation hook that answers 400 invalid_request naming every unknown query parameter. */
export function rejectUnknownQueryParameters(contract: Record<string, unknown>, path: string, method: string): preValidationHookHandler {
  const pathItem = (contract.paths as Record<string, Record<string, unknown> | undefined> | undefined)?.[path];
  const operation = pathItem?.[method.toLowerCase()] as { parameters?: Parameter[] } | undefined;
  const parameters = [...((pathItem?.parameters as Parameter[] | undefined) ?? []), ...(operation?.parameters ?? [])];
  const known = new Set(parameters.map((p) => resolve(contract, p)).filter((p) => p.in === 'query').map((p) => p.name!));
  const takes = known.size === 0 ? 'this operation takes no query parameters' : `it takes ${[...known].join(', ')}`;
  return (request, _reply, done) => {
    // Most requests have no unknown parameter: they allocate nothing here.
    let unknown: string[] | undefined;
    for (const name in request.query as object) if (!known.has(name)) (unknown ??= []).push(name);
    if (unknown === undefined) return done();
    const errors: InvalidParam[] = unknown.map((name) => ({
      in: 'query', name,
      reason: MEANT[name] && known.has(MEANT[name]) ? `is not a parameter of this operation; did you mean ${MEANT[name]}?` : 'is not a parameter of this operation',
    }));
    done(new HttpProblem(400, 'invalid_request', `${errors.map((e) => `query parameter ${e.name} ${e.reason}`).join('; ')} (${takes})`, { errors }));
  };
}
