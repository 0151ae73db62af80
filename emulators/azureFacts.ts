// What the real services accept, written here from their documentation. The emulators never
// import the service's own constants: an emulator that shared them would agree with the
// service's mistakes (a wrong scope list would pass its own test double).

/** The token scopes of the Communication Identity API (CommunicationIdentityTokenScope, api-version 2023-10-01). */
export const ACS_TOKEN_SCOPES: readonly string[] = ['chat', 'voip', 'chat.join', 'chat.join.limited', 'voip.join'];

/** `expiresInMinutes` of the Communication Identity API: within [60, 1440], 1440 when absent. */
export const ACS_MIN_TOKEN_MINUTES = 60;
export const ACS_MAX_TOKEN_MINUTES = 1440;

/**
 * A Teams user's Entra ID token, as ACS's teamsUser/:exchangeAccessToken accepts it: issued for
 * the Communication Services Teams resource, with both Teams scopes.
 */
export const TEAMS_RESOURCE = 'https://auth.msft.communication.azure.com';
export const TEAMS_SCOPES: readonly string[] = ['Teams.ManageCalls', 'Teams.ManageChats'];
/** The same scopes as a client asks Entra ID for them (resource/scope). */
export const TEAMS_RESOURCE_SCOPES: readonly string[] = TEAMS_SCOPES.map((scope) => `${TEAMS_RESOURCE}/${scope}`);
