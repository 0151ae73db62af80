// An environment read against a settings schema: each of the schema's variables, its default
// when unset, numbers and booleans from their text; checked by TypeBox's own validator, which
// interprets the schema instead of compiling it (a start checks it once), and names every
// problem at once. Only the environment given is read.
import type { Static, TObject, TSchema } from 'typebox';
import { Errors } from 'typebox/schema';

type Environment = Readonly<Record<string, string | undefined>>;

/** `text` as the schema's type, when it is one: otherwise as it is, for the check to name. */
function valueOf(text: string, type: unknown): unknown {
  if (type === 'integer' || type === 'number') {
    const number = Number(text);
    return text.trim() !== '' && !Number.isNaN(number) ? number : text;
  }
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/**
 * The schema's variables from `env`; `problems` gets one line per variable the schema refuses,
 * e.g. "DATABASE_URL is required", "PORT must be integer". Their values are not to be used then.
 */
export function readEnvironment<S extends TObject>(schema: S, env: Environment, problems: string[]): Static<S> {
  const values: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties as Record<string, TSchema & { default?: unknown; type?: unknown }>)) {
    const text = env[name];
    if (text !== undefined) values[name] = valueOf(text, property.type);
    else if (property.default !== undefined) values[name] = property.default;
  }
  const [valid, errors] = Errors(schema, values);
  if (!valid) {
    for (const error of errors) {
      if (error.keyword === 'required') problems.push(...error.params.requiredProperties.map((name) => `${name} is required`));
      else problems.push(`${error.instancePath.replace(/^\//, '')} ${error.message}`);
    }
  }
  return values as Static<S>;
}
