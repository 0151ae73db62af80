// Authentication of callers (docs/security.md): `app.authenticate` is the onRequest hook of every
// /api route. TrustedIssuers picks, from the token's `iss`, whose rules apply (Entra ID or an
// AUTH_ISSUERS entry); that issuer decides, before any key lookup, whether the token could be
// acceptable at all, and names the key set and key; the claims' dates are checked; then the
// signature alone is checked with that key (a false one is refused there); only then does
// @fastify/jwt (fast-jwt) verify the signature, exp/nbf, issuer, audience and required claims
// with that key; the issuer then says who the caller is.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import type { AuthConfig } from '../auth/authSettings.js';
import { AuthError } from '../auth/authError.js';
import { extractBearerToken } from '../auth/bearerToken.js';
import { checkDates, decodeCompactJwt, decodeHeader } from '../auth/compactJwt.js';
import { IdentityProviderHttp } from '../auth/identityProviderHttp.js';
import type { KeyToVerify } from '../auth/issuer.js';
import { RefusedTokens } from '../auth/refusedTokens.js';
import { KeySetUnavailableError, signatureIsFalse, SigningKeys, UNKNOWN_KEY, type VerificationKey } from '../auth/signingKeys.js';
import type { Caller } from '../auth/caller.js';
import { EntraIssuer } from '../auth/entraIssuer.js';
import { OidcIssuer } from '../auth/oidcIssuer.js';
import { TrustedIssuers } from '../auth/trustedIssuers.js';
import { tokenDigest, VerifiedTokens } from '../auth/verifiedTokens.js';

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Record<string, unknown>;
    /** The verified caller (null until authentication, and for a refused one). */
    user: Caller;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's bearer token, once read; never logged. */
    bearerToken: string | null;
    /** Its SHA-256, what VerifiedTokens and RefusedTokens find it by. */
    bearerTokenDigest: string | null;
    /** The key @fastify/jwt is to verify the token with (given by `secret`). */
    verificationKey: VerificationKey | null;
  }
  interface FastifyInstance {
    /** onRequest hook: sets request.user when the token was verified here before (else nothing). */
    recogniseVerifiedToken: onRequestHookHandler;
    /** onRequest hook: sets request.user, or refuses the request (401/403/503). */
    authenticate: onRequestHookHandler;
    /**
     * An onRequest hook for callers that are not users (the admin API): the same checks of the
     * token, then `accept` says who the caller is, or throws the refusal. `fromEntra`: the token's
     * issuer is an allowed Entra ID tenant. Such tokens are not remembered as users' are.
     */
    authenticateWith(accept: (request: FastifyRequest, payload: Record<string, unknown>, fromEntra: boolean) => void): onRequestHookHandler;
    signingKeys: SigningKeys;
    identityProviderHttp: IdentityProviderHttp;
  }
}

const IDENTITY_PROVIDER_TIMEOUT_MS = 5000;

/**
 * fast-jwt's message when a signature is not the key's (TokenError FAST_JWT_INVALID_SIGNATURE).
 * @fastify/jwt wraps that error into FST_JWT_AUTHORIZATION_TOKEN_INVALID without its code or
 * cause, keeping only the message (our `messages` option): the message is the one signal left.
 * No other check of fast-jwt's says these words; authentication.test pins it.
 */
const FAST_JWT_INVALID_SIGNATURE = 'The token signature is invalid.';
export const BAD_SIGNATURE = `The token is invalid: ${FAST_JWT_INVALID_SIGNATURE}`;

// fast-jwt/@fastify/jwt error codes → what the caller is told. Anything else: "invalid".
// (Expired and not yet valid tokens are mostly refused before, by checkDates, in the same
// words; algorithm and signature-format errors by the issuer's header check.)
const DESCRIPTIONS: Record<string, string> = {
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: 'The token has expired.',
  FAST_JWT_INACTIVE: 'The token is not valid yet.',
};

function toAuthError(error: unknown): Error {
  if (error instanceof AuthError || error instanceof KeySetUnavailableError) return error;
  const { code, message } = error as { code?: string; message?: string };
  const description = (code && DESCRIPTIONS[code])
    ?? (code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID' && message ? `The token is invalid: ${message}` : 'The token is invalid.');
  return AuthError.invalidToken(description);
}

// The refusals a flood repeats most, made once: an expected refusal is never changed once made.
const REFUSED_AS_FORGED = AuthError.invalidToken(BAD_SIGNATURE);
const REFUSED_UNKNOWN_KEY = AuthError.invalidToken(UNKNOWN_KEY);

/** True when @fastify/jwt refused the token because fast-jwt found its signature false. */
const isBadSignature = (error: unknown) =>
  (error as { code?: unknown }).code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID' && (error as Error).message === FAST_JWT_INVALID_SIGNATURE;

export default fp(async function authentication(app, { auth }: { auth: AuthConfig }) {
  const entra = new EntraIssuer(auth);
  const issuers = new TrustedIssuers(auth, entra, auth.issuers.map((config) => new OidcIssuer(config)));
  const identityProviderHttp = new IdentityProviderHttp({ ca: auth.authorityCa, timeoutMs: IDENTITY_PROVIDER_TIMEOUT_MS });
  const signingKeys = new SigningKeys(
    [entra.keySet, ...issuers.others.map((other) => other.keySet)],
    auth.unknownKeyRefreshCooldownSeconds,
    identityProviderHttp,
  );
  const { rules } = issuers;

  await app.register(fastifyJwt, {
    // The key is looked up before jwtVerify (authenticate, below) and given at once: a PEM
    // string, for which @fastify/jwt keeps one fast-jwt verifier; and, given synchronously,
    // jwtVerify answers synchronously.
    secret: (request: FastifyRequest, _token: unknown, callback: (error: Error | null, key?: string) => void) => {
      if (request.verificationKey === null) {
        callback(new Error('no key was looked up for this token'));
        return;
      }
      callback(null, request.verificationKey.pem);
    },
    verify: {
      algorithms: rules.algorithms as never,
      allowedIss: rules.allowedIss,
      allowedAud: rules.allowedAud,
      requiredClaims: rules.requiredClaims,
      clockTolerance: rules.clockToleranceMs,
      extractToken: (request: FastifyRequest) => request.bearerToken ?? extractBearerToken(request),
      // Verified tokens are remembered by VerifiedTokens (below), in front of all this: a
      // cache in fast-jwt too would hold the same tokens twice.
      cache: false,
    },
    // fast-jwt's messages name the failed check (signature, aud, iss) and nothing secret.
    messages: { authorizationTokenInvalid: (error: Error) => error.message },
  });

  app.decorate('signingKeys', signingKeys);
  app.decorate('identityProviderHttp', identityProviderHttp);
  // A client's repeated requests with one token get the same caller back, with its user key
  // worked out when the caller was made; the hashes remembered per caller (log, audit, rate
  // limit) are worked out once per token too.
  const verifiedTokens = new VerifiedTokens(signingKeys, rules.clockToleranceMs);
  // A forged token sent again is refused without a second signature check.
  const refusedTokens = new RefusedTokens(signingKeys);
  // The bearer token each request carried, once read (a property, not a WeakMap: cheaper per
  // request, which counts in a flood of bad tokens).
  app.decorateRequest('bearerToken', null);
  app.decorateRequest('bearerTokenDigest', null);
  app.decorateRequest('verificationKey', null);
  // First of all (before the per-IP limit): the caller of a token verified here before, so
  // that requests with a known valid token never depend on what others sent from their address.
  app.decorate('recogniseVerifiedToken', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (typeof request.headers.authorization === 'string') {
      let token: string | undefined;
      try {
        token = extractBearerToken(request);
      } catch {
        // Refused by `authenticate`, after the per-IP limit has counted it.
      }
      if (token !== undefined) {
        const digest = tokenDigest(token);
        request.bearerToken = token;
        request.bearerTokenDigest = digest;
        const known = verifiedTokens.get(digest);
        if (known) request.user = known;
      }
    }
    done();
  });
  // A callback hook: a remembered token (most requests), and any token whose key is cached, is
  // answered without a promise. A refusal is sent from here (app.sendError: the error handler's
  // own answer, listeners and log) rather than passed to done(), which would take it through
  // Fastify's error path first.
  app.decorate('authenticate', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.user) {
      done();
      return;
    }
    check(request, reply, accepted, done);
  });
  app.decorate('authenticateWith', (accept: (request: FastifyRequest, payload: Record<string, unknown>, fromEntra: boolean) => void) =>
    (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      check(request, reply, (_request, _digest, _keyToVerify, payload) => {
        // jwtVerify left the raw payload in request.user: this caller is no user.
        request.user = null as never;
        try {
          accept(request, payload, issuers.issuerOf({ header: {}, payload }) === entra);
          return null;
        } catch (error) {
          return error as Error;
        }
      }, done);
    });

  type Acceptance = (request: FastifyRequest, digest: string, keyToVerify: KeyToVerify, payload: Record<string, unknown>) => Error | null;

  /**
   * Checks the request's token; `accept` then says whether its verified payload is a caller.
   * Calls `done` once the caller is accepted, or sends the refusal (and then never calls it).
   */
  function check(request: FastifyRequest, reply: FastifyReply, accept: Acceptance, done: HookHandlerDoneFunction): void {
    const refuse = (error: Error) => { app.sendError(request, reply, error); };
    let token = request.bearerToken;
    if (token === null) {
      try {
        token = extractBearerToken(request);
      } catch (error) {
        refuse(error as Error);
        return;
      }
      request.bearerToken = token;
    }
    const digest = request.bearerTokenDigest ?? tokenDigest(token);
    // A forged token sent again, first: a hit means its key is still cached under its kid, so
    // the kid was published and the check on the header below would not refuse it.
    if (refusedTokens.has(digest)) {
      refuse(REFUSED_AS_FORGED);
      return;
    }
    // A token signed with a key no trusted issuer has published, while no key set may be read
    // again, is refused as the full check would refuse it, on its header alone: a flood of
    // made-up kids costs a header parse each, not a key lookup (bench/RESULTS.md, 2026-11-27 (later)).
    // The header is read once, here and for the checks below.
    const header = decodeHeader(token);
    const kid = header?.kid;
    if (typeof kid === 'string' && signingKeys.isSurelyUnknown(kid)) {
      refuse(REFUSED_UNKNOWN_KEY);
      return;
    }
    let keyToVerify: KeyToVerify;
    let key: VerificationKey | Promise<VerificationKey>;
    try {
      ({ keyToVerify, key } = precheck(token, header));
    } catch (error) {
      refuse(toAuthError(error));
      return;
    }
    const answer = (error: Error | null) => { if (error) refuse(error); else done(); };
    if (!(key instanceof Promise)) {
      verify(request, token, digest, keyToVerify, key, accept, answer);
      return;
    }
    // After a key set read (rare), a refusal goes through Fastify's error path, which answers
    // once even if answering fails (a 500); sent from this promise, a failure would be lost.
    const answerLater = (error: Error | null) => { if (error) done(error); else done(); };
    key.then((found) => {
      try {
        verify(request, token, digest, keyToVerify, found, accept, answerLater);
      } catch (error) {
        done(toAuthError(error));
      }
    }, (error: unknown) => { done(toAuthError(error)); });
  }

  /**
   * What needs no signature check, and the key: throws the refusal, or gives the key (a
   * promise only when the key set must be read or the key's PEM worked out first).
   *
   * The claims are checked before the signature, on purpose: the issuer's checks (issuer,
   * tenant, audience, algorithm, kid) and the dates (expired, not valid yet, with the clock
   * tolerance) refuse what would be refused anyway, whatever the signature, without a key
   * lookup or a signature check. The refusal names only what the token itself says to whoever
   * holds it, never whether its signature would have passed.
   */
  function precheck(token: string, header: Record<string, unknown> | undefined): { keyToVerify: KeyToVerify; key: VerificationKey | Promise<VerificationKey> } {
    const jwt = decodeCompactJwt(token, header);
    const keyToVerify = issuers.issuerOf(jwt).keyToVerify(jwt);
    checkDates(jwt.payload, rules.clockToleranceMs, Date.now());
    return { keyToVerify, key: signingKeys.verificationKeyFor(keyToVerify.keySet, keyToVerify.alg, keyToVerify.kid) };
  }

  /**
   * The signature alone with `key`, then @fastify/jwt's whole check with it (signature, alg,
   * exp/nbf, iss, aud, required claims), then who the caller is; answers `done` with the
   * refusal, or with null once accepted.
   */
  function verify(request: FastifyRequest, token: string, digest: string, keyToVerify: KeyToVerify, key: VerificationKey, accept: Acceptance, done: (error: Error | null) => void): void {
    // The signature alone first: a forged token (a flood's) is refused here at the cost of the
    // check itself, and remembered, without @fastify/jwt decoding it twice more and making
    // and wrapping its error. What this check passes is verified whole by @fastify/jwt below,
    // so nothing is accepted on this check alone.
    signingKeys.signatureChecks++;
    if (signatureIsFalse(token, key)) {
      refusedTokens.add(digest, key);
      done(REFUSED_AS_FORGED);
      return;
    }
    request.verificationKey = key;
    let inJwtVerify = true;
    let outcome: Error | null | undefined;
    const verified = (error: Error | null, payload: unknown) => {
      const result = error ? refused(error, digest, key) : accept(request, digest, keyToVerify, payload as Record<string, unknown>);
      if (inJwtVerify) outcome = result;
      else done(result);
    };
    // The secret is given synchronously, so jwtVerify calls back before it returns: its
    // refusals (fast-jwt's TokenError, @fastify/jwt's errors) are made with no stack trace,
    // which costs more than the check itself in a flood of forged tokens, and no refusal here
    // is ever debugged from its stack. This section is synchronous, so nothing else runs with
    // the limit lowered; done() is called after it is restored.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      // No options (undefined, not {}): @fastify/jwt then uses its verifier for this PEM.
      request.jwtVerify(undefined as never, verified);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
      inJwtVerify = false;
    }
    if (outcome !== undefined) done(outcome);
  }

  /** The refusal of @fastify/jwt's `error`; a false signature is remembered against `key`. */
  function refused(error: Error, digest: string, key: VerificationKey): Error {
    // Only its signature was refused, by this very key: the same bytes will be again.
    if (isBadSignature(error)) refusedTokens.add(digest, key);
    return toAuthError(error);
  }

  /** Who the caller is (null when accepted), or the issuer's refusal. */
  function accepted(request: FastifyRequest, digest: string, keyToVerify: KeyToVerify, payload: Record<string, unknown>): Error | null {
    let user: Caller;
    try {
      user = issuers.callerOf(payload);
    } catch (error) {
      // jwtVerify left the raw payload in request.user: a refused caller is nobody, not
      // whatever its claims say (the log line and the audit trail read request.user).
      request.user = null as never;
      return error as Error;
    }
    request.user = user;
    // Only a token that passed every check is remembered.
    verifiedTokens.set(digest, user, payload, keyToVerify);
    return null;
  }
}, { name: 'authentication', dependencies: ['problem-details'], decorators: { fastify: ['sendError'] } });
