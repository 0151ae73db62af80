// The Graph emulator's errors in Graph's shape, and its `$filter`: `name eq 'value'` terms joined
// by `and`, as the commands here send them.

export class GraphError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly target?: string) {
    super(message);
  }
}

const unsupported = (clause: string) => new GraphError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${clause}'.`);

/**
 * `$filter` as Graph takes it here: `name eq 'value'` terms joined by `and`, read term by term so
 * that " and " inside a quoted value (where '' is a quote) is part of it.
 */
export function parseFilter(filter: string | undefined, allowed: string[]): Record<string, string> {
  if (filter === undefined) return {};
  const terms: Record<string, string> = {};
  let rest = filter.trimStart();
  for (;;) {
    const match = /^(\w+)\s+eq\s+'((?:[^']|'')*)'(?:\s+|$)/.exec(rest);
    if (!match || !allowed.includes(match[1]!)) throw unsupported(match?.[1] ?? rest);
    terms[match[1]!] = match[2]!.replaceAll("''", "'");
    rest = rest.slice(match[0].length);
    if (rest === '') return terms;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw unsupported(rest);
    rest = rest.slice(and[0].length);
  }
}

// Directory string properties compare without regard to case (an app named "Tokens" is found as 'tokens').
export const matches = (object: object, terms: Record<string, string>) =>
  Object.entries(terms).every(([name, value]) => {
    const actual = (object as Record<string, unknown>)[name];
    return typeof actual === 'string' && actual.toLowerCase() === value.toLowerCase();
  });
