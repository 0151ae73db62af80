// The token scopes ACS knows (ACS_TOKEN_SCOPES in .env.example). The contract's `scopes` pattern lists the same names.
export const ACS_SCOPES = ['chat', 'voip', 'chat.join', 'chat.join.limited', 'voip.join'] as const;
export type AcsScope = (typeof ACS_SCOPES)[number];

export const MIN_TOKEN_TTL_MINUTES = 60;
export const MAX_TOKEN_TTL_MINUTES = 1440;

/** The resource a Teams user's Entra token must be issued for, and the scopes it must carry. */
export const TEAMS_TOKEN_AUDIENCE = 'https://auth.msft.communication.azure.com';
export const TEAMS_TOKEN_SCOPES = ['Teams.ManageCalls', 'Teams.ManageChats'] as const;
/** What the service asks Entra ID for, on behalf of a Teams user. */
export const TEAMS_OBO_SCOPES = TEAMS_TOKEN_SCOPES.map((scope) => `${TEAMS_TOKEN_AUDIENCE}/${scope}`);
