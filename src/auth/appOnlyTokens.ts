// User routes serve users: a token that an application obtained for itself (the client
// credentials grant) has no user behind it and is refused, from every issuer. How each kind
// of issuer marks such a token, from its documentation:
// - Entra ID and Entra External ID: `sub` is the application's own `oid` (a user's `sub` is
//   pairwise, never their `oid`), and `idtyp` is "app" where that optional claim is issued
//   (and `roles` without `scp`, which EntraIssuer refuses for want of the scope);
// - Auth0: `gty` is "client-credentials";
// - RFC 9068 issuers (oidc-provider, Okta, …): `sub` names the client itself, as in `client_id`,
//   `cid`, `azp` or `appid`;
// - Keycloak: a service account's `preferred_username` is "service-account-<client id>"
//   (in lower case), its client being `azp`. Only that exact name: a user may be called
//   service-account-something at another issuer.

/** The claims that may name the client that asked for a token, or (`oid`) the application itself. */
const CLIENT_ID_CLAIMS = ['client_id', 'cid', 'azp', 'appid', 'oid'] as const;

/** Why a verified token is app-only (to tell the caller), or undefined for a user's token. */
export function appOnlyMarker(payload: Record<string, unknown>): string | undefined {
  if (payload.idtyp === 'app') return '"idtyp" is "app"';
  if (payload.gty === 'client-credentials') return '"gty" is "client-credentials"';
  const { sub } = payload;
  if (typeof sub === 'string') {
    const claim = CLIENT_ID_CLAIMS.find((name) => payload[name] === sub);
    if (claim) return `"sub" is the client's "${claim}"`;
  }
  if (typeof payload.azp === 'string' && payload.preferred_username === `service-account-${payload.azp.toLowerCase()}`) {
    return '"preferred_username" is the service account of "azp"';
  }
  return undefined;
}
