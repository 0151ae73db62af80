// Who the caller is, once the token has been verified: a Microsoft Entra ID user, or a user of
// another OpenID Connect issuer (AUTH_ISSUERS). Each caller carries its user key, worked out
// once when the caller is made (once per verified token): the text that stands for the user in
// audit hashes, log lines, rate-limit keys and caches, unambiguous across issuers.

/** An Entra ID user: the tenant and object ids, lowercase GUIDs (EntraIssuer accepts no other). */
export interface EntraCaller {
  readonly kind: 'entra';
  readonly tenantId: string;
  readonly objectId: string;
  readonly userKey: string;
}

/** A user of another OpenID Connect issuer: its exact `iss` (a URL) and its subject claim. */
export interface OidcCaller {
  readonly kind: 'oidc';
  readonly issuer: string;
  readonly subject: string;
  readonly userKey: string;
}

export type Caller = EntraCaller | OidcCaller;

// An Entra tenant is a GUID (no "/"), but another issuer's URL and subject may both hold "/",
// so theirs is length-prefixed. These are the keys of every audit hash and rate-limit key
// written so far: they must not change.
export function entraCaller(tenantId: string, objectId: string): EntraCaller {
  return { kind: 'entra', tenantId, objectId, userKey: `${tenantId}/${objectId}` };
}

export function oidcCaller(issuer: string, subject: string): OidcCaller {
  return { kind: 'oidc', issuer, subject, userKey: `${issuer.length}:${issuer}/${subject}` };
}
