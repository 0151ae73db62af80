/** The request header that carries a Teams user's Entra token (as in Microsoft's samples). */
export const TEAMS_TOKEN_HEADER = 'teams-user-aad-token';

// Whose Teams token this is: its `tid` and `oid`, read (not verified — ACS verifies the
// signature during the exchange) so that a caller cannot exchange another user's token; and
// its `exp` (milliseconds), which bounds the ACS token's life.
export function teamsTokenOwner(token: string): { tenantId: string; objectId: string; expiresAt: number | undefined } | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof payload.tid !== 'string' || typeof payload.oid !== 'string') return undefined;
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    return { tenantId: payload.tid.toLowerCase(), objectId: payload.oid.toLowerCase(), expiresAt };
  } catch {
    return undefined;
  }
}
