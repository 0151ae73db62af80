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

/** The ACS first-party app ("Azure Communication Services") whose service principal a tenant needs for Teams users. */
export const ACS_FIRST_PARTY_APP_ID = '1fd5118e-2576-4263-8130-9503064c837a';
/** Its delegated permissions (oauth2PermissionScopes), as its service principal publishes them. */
export const ACS_FIRST_PARTY_SCOPES: readonly { id: string; value: string }[] = [
  { id: 'de8ec1df-066a-4817-bc5d-9a985b986262', value: 'Teams.ManageCalls' },
  { id: '6290af7f-b407-49f9-92d5-bf584fdc4019', value: 'Teams.ManageChats' },
  { id: '9ed60762-c537-4e50-8984-4b1db3d922ce', value: 'TeamsExtension.ManageCalls' },
];
