// What the ACS SDK throws, classified: each failure kind, which are worth retrying, and the
// Retry-After that comes with "later". The errors are the SDK's own classes (RestError of its
// HTTP pipeline, AbortError, @azure/identity's credential errors).
import { AbortError } from '@azure/abort-controller';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { AggregateAuthenticationError, AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import t from 'tap';
import { AcsError, classifyAcsError, isTransient, type AcsFailureKind } from '../../src/acs/acsErrors.js';

/** An HTTP answer of ACS as the SDK reports it. */
function answered(statusCode: number, { code, retryAfter }: { code?: string; retryAfter?: string } = {}): RestError {
  const request = createPipelineRequest({ url: 'https://res.communication.azure.com/identities?api-version=2025-06-30' });
  const headers = createHttpHeaders(retryAfter === undefined ? {} : { 'retry-after': retryAfter });
  return new RestError(`ACS answered ${statusCode}`, { statusCode, ...(code ? { code } : {}), request, response: { request, status: statusCode, headers } });
}

t.test('each HTTP answer of ACS, classified', async (t) => {
  const cases: Array<[string, RestError, AcsFailureKind]> = [
    ['issueToken', answered(429), 'throttled'],
    ['issueToken', answered(500), 'unavailable'],
    ['issueToken', answered(503), 'unavailable'],
    ['deleteIdentity', answered(404), 'identity_missing'],
    ['issueToken', answered(401, { code: 'IdentityNotOwned' }), 'identity_not_owned'],
    ['issueToken', answered(403, { code: 'IdentityNotOwned' }), 'identity_not_owned'],
    ['issueToken', answered(401, { code: 'InvalidAccessToken' }), 'rejected'],
    ['createIdentity', answered(403), 'rejected'],
    ['createIdentity', answered(400), 'rejected'],
    ['exchangeTeamsToken', answered(401, { code: 'InvalidAccessToken' }), 'teams_token_refused'],
    ['exchangeTeamsToken', answered(401, { code: 'Unauthorized' }), 'rejected'],
    ['exchangeTeamsToken', answered(400, { code: 'BadRequest' }), 'teams_token_rejected'],
    ['exchangeTeamsToken', answered(429), 'throttled'],
    ['exchangeTeamsToken', answered(502), 'unavailable'],
    ['exchangeTeamsToken', answered(404), 'identity_missing'],
  ];
  for (const [operation, error, kind] of cases) {
    const classified = classifyAcsError(operation, error);
    t.equal(classified.kind, kind, `${operation}, ${error.statusCode} ${error.code ?? ''}`);
    t.equal(classified.upstreamStatus, error.statusCode);
  }
});

t.test('no answer at all: a timeout, an abort, a network error, another error', async (t) => {
  const signal = AbortSignal.timeout(1);
  // Its timer does not keep the process alive: this one does.
  while (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
  const cases: Array<[string, unknown]> = [
    ['AbortSignal.timeout', signal.reason],
    ['AbortError', new AbortError('The operation was aborted.')],
    ['connection refused', new RestError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })],
    ['a plain Error', new Error('socket hang up')],
  ];
  for (const [what, error] of cases) {
    const classified = classifyAcsError('issueToken', error);
    t.same([classified.kind, classified.upstreamStatus, classified.retryAfterSeconds], ['unavailable', undefined, undefined], what);
  }
});

t.test('an Entra credential that cannot get a token is a configuration problem, never retried', async (t) => {
  for (const error of [
    new CredentialUnavailableError('no managed identity endpoint'),
    new AuthenticationError(400, { error: 'invalid_client', error_description: 'AADSTS7000215' }),
    new AggregateAuthenticationError([new CredentialUnavailableError('none')], 'ChainedTokenCredential failed'),
  ]) {
    const classified = classifyAcsError('createIdentity', error);
    t.equal(classified.kind, 'rejected', error.name);
    t.notOk(isTransient(classified));
  }
});

t.test('Retry-After: seconds (rounded up) or an HTTP date, for "later" answers only', async (t) => {
  const retryAfter = (error: RestError) => classifyAcsError('issueToken', error).retryAfterSeconds;
  t.equal(retryAfter(answered(429, { retryAfter: '7' })), 7);
  t.equal(retryAfter(answered(429, { retryAfter: '1.2' })), 2, 'rounded up');
  t.equal(retryAfter(answered(503, { retryAfter: '0' })), 0);
  t.equal(retryAfter(answered(429)), undefined, 'none sent: the caller picks a default');
  t.equal(retryAfter(answered(429, { retryAfter: 'soon' })), undefined, 'unreadable');
  const inAMinute = new Date(Date.now() + 60_500).toUTCString();
  const seconds = retryAfter(answered(429, { retryAfter: inAMinute }))!;
  t.ok(seconds >= 59 && seconds <= 61, `an HTTP date a minute ahead: ${seconds} s`);
  t.equal(retryAfter(answered(503, { retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' })), 0, 'a date in the past: now');
  t.equal(retryAfter(answered(404, { retryAfter: '7' })), undefined, 'not for a refusal');
  t.equal(retryAfter(answered(401, { code: 'IdentityNotOwned', retryAfter: '7' })), undefined);
});

t.test('the error says what failed and keeps what was thrown as its cause; only "later" is transient', async (t) => {
  const thrown = answered(429, { retryAfter: '3' });
  const error = classifyAcsError('revokeTokens', thrown);
  t.type(error, AcsError);
  t.equal(error.name, 'AcsError');
  t.equal(error.message, 'ACS revokeTokens failed: throttled (HTTP 429)');
  t.equal(error.operation, 'revokeTokens');
  t.equal(error.cause, thrown);
  t.equal(classifyAcsError('issueToken', new AbortError()).message, 'ACS issueToken failed: unavailable', 'no status, none told');
  const kinds: AcsFailureKind[] = ['throttled', 'unavailable', 'identity_missing', 'identity_not_owned', 'teams_token_refused', 'teams_token_rejected', 'rejected'];
  t.same(kinds.filter((kind) => isTransient(new AcsError(kind, 'issueToken', undefined, undefined, undefined))), ['throttled', 'unavailable']);
});
