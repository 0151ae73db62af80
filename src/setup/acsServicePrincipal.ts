// The Azure Communication Services first-party app, whose delegated permissions Teams.ManageCalls
// and Teams.ManageChats the API needs for Teams users: read from its service principal in the
// tenant, by value, as Graph publishes them (their ids are Microsoft's, not ours to write down).
import type * as Graph from '@microsoft/microsoft-graph-types';
import { TEAMS_TOKEN_SCOPES } from '../acs/acsScopes.js';
import { filterEq, type GraphClient } from './graphClient.js';

export const ACS_APP_ID = '1fd5118e-2576-4263-8130-9503064c837a';
export const ACS_SP_FIX = `az ad sp create --id ${ACS_APP_ID}`;

export async function findServicePrincipal(graph: GraphClient, appId: string): Promise<Graph.ServicePrincipal | undefined> {
  return (await graph.list<Graph.ServicePrincipal>(`/servicePrincipals?${filterEq('appId', appId)}`))[0];
}

/** The ids of the Teams scopes among the service principal's, by value; names the missing ones. */
export function teamsScopeIds(principal: Graph.ServicePrincipal): { ids: Map<string, string>; missing: string[] } {
  const ids = new Map<string, string>();
  for (const value of TEAMS_TOKEN_SCOPES) {
    const scope = principal.oauth2PermissionScopes?.find((candidate) => candidate.value === value);
    if (scope?.id) ids.set(value, scope.id);
  }
  return { ids, missing: TEAMS_TOKEN_SCOPES.filter((value) => !ids.has(value)) };
}
