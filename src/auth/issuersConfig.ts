// AUTH_ISSUERS: OpenID Connect issuers trusted beside Entra ID (Entra External ID, Azure AD
// B2C, Auth0, Keycloak, Okta…: issuers of JWT access tokens), as a JSON array. Every entry is checked at start, and a
// problem names the entry, so that a typo stops the service instead of locking users out.
import { HTTPS_OR_LOOPBACK_HTTP, isHttpsOrLoopbackHttp } from '../shared/urlRules.js';

/** The signature algorithms another issuer may use (asymmetric only: never a shared secret). */
export const ISSUER_ALGORITHMS = ['RS256', 'ES256'] as const;
export type IssuerAlgorithm = (typeof ISSUER_ALGORITHMS)[number];

export interface OidcIssuerConfig {
  /** The `iss` claim, compared exactly. */
  issuer: string;
  /** The accepted `aud` (the token's `aud`, or one entry of it when it is a list). */
  audience: string;
  /** Where the keys are; without it, the issuer's discovery document names them. */
  jwksUri: string | undefined;
  algorithms: IssuerAlgorithm[];
  /** A scope the token must grant (in `scope` or `scp`), if set. */
  scope: string | undefined;
  /** The claim that names the user at this issuer (default `sub`). */
  subjectClaim: string;
}

const ENTRY_FIELDS = new Set(['issuer', 'audience', 'jwksUri', 'algorithms', 'scope', 'subjectClaim']);
const CLAIM_NAME = /^[A-Za-z0-9_.:/-]{1,64}$/;
const MAX_ISSUERS = 20;

/** A URL this service may fetch keys from or trust as an issuer: https, or http on loopback. */
function checkUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  return isHttpsOrLoopbackHttp(url) ? undefined : HTTPS_OR_LOOPBACK_HTTP;
}

/** Parses AUTH_ISSUERS; each problem goes to `problems`, naming the entry. */
export function parseAuthIssuers(text: string | undefined, problems: string[]): OidcIssuerConfig[] {
  if (text === undefined || text.trim() === '') return [];
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch (error) {
    problems.push(`AUTH_ISSUERS is not valid JSON (${(error as Error).message})`);
    return [];
  }
  if (!Array.isArray(entries)) {
    problems.push('AUTH_ISSUERS must be a JSON array of issuers: [{"issuer": "https://…", "audience": "…"}]');
    return [];
  }
  if (entries.length > MAX_ISSUERS) problems.push(`AUTH_ISSUERS lists ${entries.length} issuers; at most ${MAX_ISSUERS}`);

  const issuers: OidcIssuerConfig[] = [];
  entries.forEach((entry: unknown, index) => {
    const name = `AUTH_ISSUERS[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${name} must be an object with "issuer" and "audience"`);
      return;
    }
    const given = entry as Record<string, unknown>;
    const label = typeof given.issuer === 'string' ? `${name} (${given.issuer})` : name;
    const before = problems.length;
    const problem = (text: string) => problems.push(`${label}: ${text}`);

    for (const field of Object.keys(given)) if (!ENTRY_FIELDS.has(field)) problem(`unknown field "${field}" (known: ${[...ENTRY_FIELDS].join(', ')})`);
    if (typeof given.issuer !== 'string' || given.issuer.length === 0) problem('"issuer" is required (the exact "iss" of its tokens)');
    else if (given.issuer.length > 255) problem('"issuer" is longer than 255 characters');
    else {
      const urlProblem = checkUrl(given.issuer);
      if (urlProblem) problem(`"issuer" ${urlProblem}`);
    }
    if (typeof given.audience !== 'string' || given.audience.length === 0) problem('"audience" is required (the "aud" its tokens carry for this API)');
    if (given.jwksUri !== undefined) {
      const urlProblem = typeof given.jwksUri === 'string' ? checkUrl(given.jwksUri) : 'must be a string';
      if (urlProblem) problem(`"jwksUri" ${urlProblem}`);
    }
    const algorithms = given.algorithms ?? ['RS256'];
    if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (ISSUER_ALGORITHMS as readonly unknown[]).includes(a))) {
      problem(`"algorithms" must be a non-empty list of ${ISSUER_ALGORITHMS.join(', ')}`);
    }
    if (given.scope !== undefined && (typeof given.scope !== 'string' || !/^\S{1,200}$/.test(given.scope))) problem('"scope" must be one scope name (no spaces)');
    if (given.subjectClaim !== undefined && (typeof given.subjectClaim !== 'string' || !CLAIM_NAME.test(given.subjectClaim))) problem('"subjectClaim" must be a claim name');
    // Their keys are cached per issuer without its trailing slash: these two would share them.
    const bare = (issuer: unknown) => String(issuer).replace(/\/$/, '');
    if (issuers.some((other) => bare(other.issuer) === bare(given.issuer))) problem('the issuer is listed twice (with or without a trailing slash)');
    if (problems.length > before) return;

    issuers.push({
      issuer: given.issuer as string,
      audience: given.audience as string,
      jwksUri: given.jwksUri as string | undefined,
      algorithms: [...new Set(algorithms as IssuerAlgorithm[])],
      scope: given.scope as string | undefined,
      subjectClaim: (given.subjectClaim as string | undefined) ?? 'sub',
    });
  });
  return issuers;
}
