// The problem codes (status, stable `code`, detail) that the failures of ACS and of the Teams
// on-behalf-of exchange are answered with. The detail tells the caller what to do next.
import type { AcsFailureKind } from '../acs/acsErrors.js';
import type { OboFailureKind } from '../teams/teamsOnBehalfOf.js';

export type ProblemCode = { status: number; code: string; detail: string };

export const ACS_PROBLEMS: Record<AcsFailureKind, ProblemCode> = {
  throttled: { status: 429, code: 'acs_throttled', detail: 'ACS is throttling this resource; retry later.' },
  unavailable: { status: 503, code: 'acs_unavailable', detail: 'ACS failed or did not answer in time; retry later.' },
  identity_missing: {
    status: 502, code: 'acs_identity_missing',
    detail: 'The stored ACS identity no longer exists in the ACS resource; DELETE /api/user, then ask again for a new one.',
  },
  identity_not_owned: {
    status: 502, code: 'acs_identity_not_owned',
    detail: 'The stored ACS identity belongs to another ACS resource than the one this service is configured with.',
  },
  rejected: { status: 502, code: 'acs_rejected', detail: 'ACS refused the request of this service; check its ACS configuration.' },
  teams_token_refused: {
    status: 401, code: 'teams_token_refused',
    detail: 'ACS refused the Teams user\'s token as invalid or expired; sign the Teams user in again and send a fresh token.',
  },
  teams_token_rejected: {
    status: 400, code: 'teams_token_rejected',
    detail: 'ACS refused the exchange: the Teams token was not issued to this service\'s app (appid) for this user (oid).',
  },
};

// Retry-After when ACS sent none: throttling lasts longer than a passing outage.
export const DEFAULT_RETRY_AFTER_SECONDS = { throttled: 10, unavailable: 5 } as const;

export const OBO_PROBLEMS: Record<OboFailureKind, (aadsts: string, clientId: string) => ProblemCode> = {
  consent_required: (aadsts, clientId) => ({
    status: 403, code: 'teams_consent_required',
    detail: `An administrator must grant consent for this service's app (${clientId}) to use the delegated permissions Teams.ManageCalls and Teams.ManageChats of Azure Communication Services (${aadsts}).`,
  }),
  interaction_required: (aadsts) => ({
    status: 401, code: 'teams_interaction_required',
    detail: `Entra ID requires the user to sign in again interactively, for example for multi-factor authentication (${aadsts}); get a new token for this API with user interaction and retry.`,
  }),
  refused: (aadsts) => ({
    status: 401, code: 'teams_obo_refused',
    detail: `Entra ID refused to exchange the caller's token on its behalf (${aadsts}); get a new token for this API and retry.`,
  }),
  client_rejected: (aadsts) => ({
    status: 502, code: 'entra_rejected',
    detail: `Entra ID refused this service's credentials (${aadsts}); check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.`,
  }),
  request_rejected: (aadsts) => ({
    status: 502, code: 'entra_rejected',
    detail: `Entra ID refused the service's on-behalf-of request (${aadsts}); check the app registration's API permissions for Azure Communication Services in the user's tenant.`,
  }),
  unavailable: () => ({ status: 503, code: 'entra_unavailable', detail: 'Entra ID failed or did not answer in time; retry later.' }),
};

/** The admin API's own refusals (docs/troubleshooting.md has an entry for each code). */
export const ADMIN_PROBLEMS = {
  appTokenRequired: (role: string): ProblemCode => ({
    status: 403, code: 'admin_app_token_required',
    detail: `The admin API takes only an application's own token (client credentials) granted the app role ${role}; a user's token is refused.`,
  }),
  roleRequired: (role: string): ProblemCode => ({
    status: 403, code: 'admin_role_required',
    detail: `The application's token does not carry the app role ${role}; an administrator must grant it to the application.`,
  }),
  identityNotFound: { status: 404, code: 'admin_identity_not_found', detail: 'No user with this key has an ACS identity.' },
  receiptNotFound: {
    status: 404, code: 'erasure_receipt_not_found',
    detail: 'No erasure receipt has this id; confirmed receipts are deleted after the retention period.',
  },
  offboardingNotFound: { status: 404, code: 'offboarding_not_found', detail: 'No tenant offboarding has this id.' },
} satisfies Record<string, ProblemCode | ((role: string) => ProblemCode)>;
