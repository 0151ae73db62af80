// The doctor's ACS check: reachable and authorised, shown by doing what the service does —
// create an identity, issue it a token, delete it — through the service's own ACS client.
// With --read-only nothing is written, and the line says what was not checked.
import type { AcsConfig } from '../acs/acsSettings.js';
import { AcsError } from '../acs/acsErrors.js';
import { AcsIdentityClient } from '../acs/acsIdentityClient.js';
import { MIN_TOKEN_TTL_MINUTES } from '../acs/acsScopes.js';
import { describeError, fail, invalidSettingsCheck, pass, skip, type Check, type Outcome } from './checklist.js';

function fixFor(acs: AcsConfig, error: unknown): string {
  const where = acs.connectionString ? 'ACS_CONNECTION_STRING' : 'ACS_ENDPOINT';
  if (error instanceof AcsError && (error.kind === 'rejected' || error.kind === 'identity_not_owned')) {
    return acs.connectionString
      ? 'ACS refused the access key: copy the connection string again (Azure portal → your Communication Services resource → Keys) into ACS_CONNECTION_STRING'
      : 'ACS refused the Entra credential: give the service\'s managed identity (ACS_CREDENTIAL_CLIENT_ID) the Contributor role on the Communication Services resource';
  }
  if (error instanceof AcsError && error.kind === 'throttled') return 'ACS throttles this resource: run the doctor again later';
  return `check the endpoint in ${where} (${acs.endpoint.origin}) and that it can be reached from here`;
}

async function createIssueDelete(acs: AcsConfig): Promise<Outcome> {
  const client = new AcsIdentityClient(acs);
  let acsUserId: string | undefined;
  let step = 'create an identity';
  try {
    ({ acsUserId } = await client.createIdentity());
    step = 'issue a token';
    await client.issueToken(acsUserId, acs.defaultScopes, MIN_TOKEN_TTL_MINUTES);
    step = 'delete the identity';
    await client.deleteIdentity(acsUserId);
    acsUserId = undefined;
    return pass(`created, issued, deleted an identity (${acs.endpoint.origin})`);
  } catch (error) {
    // A token could not be issued: the identity made for the check goes all the same, and if
    // it cannot, the operator is told which one is left.
    const cleanedUp = acsUserId !== undefined && step !== 'delete the identity'
      && await client.deleteIdentity(acsUserId).then(() => true, () => false);
    const left = acsUserId !== undefined && !cleanedUp ? ` (the identity ${acsUserId} made for the check is left: delete it in the Azure portal or with the ACS SDK)` : '';
    return fail(`could not ${step}: ${describeError(error)}${left}`, fixFor(acs, error));
  }
}

/** `invalid`: why the settings are invalid, when `acs` is undefined. */
export function acsChecks(acs: AcsConfig | undefined, readOnly: boolean, invalid: readonly string[] = []): Check[] {
  if (acs === undefined) return [invalidSettingsCheck('ACS', invalid)];
  if (readOnly) {
    return [{
      group: 'ACS', timeoutMs: 1, timeoutFix: '',
      run: async () => skip(`not checked (--read-only): no identity was created, so neither reaching ${acs.endpoint.origin} nor its access was tried`),
    }];
  }
  return [{
    group: 'ACS',
    // Three calls, each bounded by the client's own timeout (retries included).
    timeoutMs: 3 * acs.requestTimeoutMs + 1000,
    timeoutFix: `check the endpoint (${acs.endpoint.origin}) and that it can be reached from here`,
    run: () => createIssueDelete(acs),
  }];
}
