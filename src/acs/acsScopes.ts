// The token scopes ACS knows (DESIGN §5). The contract's `scopes` pattern lists the same names.
export const ACS_SCOPES = ['chat', 'voip', 'chat.join', 'chat.join.limited', 'voip.join'] as const;
export type AcsScope = (typeof ACS_SCOPES)[number];

export const MIN_TOKEN_TTL_MINUTES = 60;
export const MAX_TOKEN_TTL_MINUTES = 1440;
