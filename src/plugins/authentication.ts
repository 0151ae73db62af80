// Authentication of callers (docs/security.md): `app.authenticate` is the onRequest hook of every
// /api route. TrustedIssuers picks, from the token's `iss`, whose rules apply (Entra ID or an
// AUTH_ISSUERS entry); that issuer decides, before any key lookup, whether the token could be
// acceptable at all, and names the key set and key; the claims' dates are checked; only then is
// the signature checked (node:crypto, with the key SigningKeys imported once); the issuer then
// says who the caller is.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import type { AuthConfig } from '../auth/authSettings.js';
import { AuthError } from '../auth/authError.js';
import { extractBearerToken, headerKid } from '../auth/bearerToken.js';
import { checkClaims, decodeCompactJwt, type CompactJwt } from '../auth/compactJwt.js';
import { IdentityProviderHttp } from '../auth/identityProviderHttp.js';
import type { KeyToVerify } from '../auth/issuer.js';
import { RefusedTokens } from '../auth/refusedTokens.js';
import { SigningKeys, UNKNOWN_KEY, type VerificationKey } from '../auth/signingKeys.js';
import type { Caller } from '../auth/caller.js';
import { EntraIssuer } from '../auth/entraIssuer.js';
import { OidcIssuer } from '../auth/oidcIssuer.js';
import { TrustedIssuers } from '../auth/trustedIssuers.js';
import { tokenDigest, VerifiedTokens } from '../auth/verifiedTokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller (null until authentication, and for a refused one). */
    user: Caller;
    /** The request's bearer token, once read (by recogniseVerifiedToken); never logged. */
    bearerToken: string | null;
    /** Its SHA-256, what VerifiedTokens and RefusedTokens find it by. */
    bearerTokenDigest: string | null;
  }
  interface FastifyInstance {
    /** onRequest hook: sets request.user when the token was verified here before (else nothing). */
    recogniseVerifiedToken: onRequestHookHandler;
    /** onRequest hook: sets request.user, or refuses the request (401/403/503). */
    authenticate: onRequestHookHandler;
    signingKeys: SigningKeys;
    identityProviderHttp: IdentityProviderHttp;
  }
}

const IDENTITY_PROVIDER_TIMEOUT_MS = 5000;

export const BAD_SIGNATURE = 'The token is invalid: The token signature is invalid.';

export default fp(async function authentication(app, { auth }: { auth: AuthConfig }) {
  const entra = new EntraIssuer(auth);
  const issuers = new TrustedIssuers(auth, entra, auth.issuers.map((config) => new OidcIssuer(config)));
  const identityProviderHttp = new IdentityProviderHttp({ ca: auth.authorityCa, timeoutMs: IDENTITY_PROVIDER_TIMEOUT_MS });
  const signingKeys = new SigningKeys(
    [entra.keySet, ...issuers.others.map((other) => other.keySet)],
    auth.unknownKeyRefreshCooldownSeconds,
    identityProviderHttp,
  );
  const clockToleranceMs = auth.clockToleranceSeconds * 1000;

  app.decorate('signingKeys', signingKeys);
  app.decorate('identityProviderHttp', identityProviderHttp);
  // A client's repeated requests with one token get the same caller back, with its user key
  // worked out when the caller was made; the hashes remembered per caller (log, audit, rate
  // limit) are worked out once per token too.
  const verifiedTokens = new VerifiedTokens(signingKeys, clockToleranceMs);
  // A forged token sent again is refused without a second signature check.
  const refusedTokens = new RefusedTokens(signingKeys);
  app.decorateRequest('user', null as never);
  // The bearer token each request carried, once recogniseVerifiedToken has read it (a
  // property, not a WeakMap: cheaper per request, which counts in a flood of bad tokens).
  app.decorateRequest('bearerToken', null);
  app.decorateRequest('bearerTokenDigest', null);
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
  // answered without a promise.
  app.decorate('authenticate', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.user) {
      done();
      return;
    }
    let token = request.bearerToken;
    if (token === null) {
      try {
        token = extractBearerToken(request);
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    // A token signed with a key no trusted issuer has published, while no key set may be read
    // again, is refused as the full check would refuse it, on its header alone: a flood of
    // made-up kids costs a header parse each, not a key lookup (bench/RESULTS.md, 2026-11-27 (later)).
    const kid = headerKid(token);
    if (kid !== undefined && signingKeys.isSurelyUnknown(kid)) {
      done(AuthError.invalidToken(UNKNOWN_KEY));
      return;
    }
    const digest = request.bearerTokenDigest ?? tokenDigest(token);
    if (refusedTokens.has(digest)) {
      done(AuthError.invalidToken(BAD_SIGNATURE));
      return;
    }
    let checking: Promise<void> | undefined;
    try {
      checking = check(request, token, digest);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (checking === undefined) done();
    else checking.then(() => done(), done);
  });

  /**
   * The full check of a token not remembered: sets request.user, or throws (or rejects with)
   * the refusal. A promise only when the key must be read first.
   *
   * The claims are checked before the signature, on purpose: the issuer's checks (issuer,
   * tenant, audience, algorithm, kid) and the dates (expired, not valid yet, with the clock
   * tolerance) refuse what would be refused anyway, whatever the signature, without a key
   * lookup or a signature check. The refusal names only what the token itself says to whoever
   * holds it, never whether its signature would have passed.
   */
  function check(request: FastifyRequest, token: string, digest: string): Promise<void> | undefined {
    const jwt = decodeCompactJwt(token);
    const keyToVerify = issuers.issuerOf(jwt).keyToVerify(jwt);
    checkClaims(jwt.payload, clockToleranceMs, Date.now());
    const key = signingKeys.verificationKeyFor(keyToVerify.keySet, keyToVerify.alg, keyToVerify.kid);
    if (key instanceof Promise) return key.then((found) => { accept(request, jwt, digest, keyToVerify, found); });
    accept(request, jwt, digest, keyToVerify, key);
    return undefined;
  }

  /** The signature, then who the caller is; a refused caller stays nobody (request.user null). */
  function accept(request: FastifyRequest, jwt: CompactJwt, digest: string, keyToVerify: KeyToVerify, key: VerificationKey): void {
    if (!signingKeys.verify(key, jwt.input, jwt.signature)) {
      // Remembered against this very key: only its signature was refused.
      refusedTokens.add(digest, key);
      throw AuthError.invalidToken(BAD_SIGNATURE);
    }
    const user = issuers.callerOf(jwt.payload);
    request.user = user;
    // Only a token that passed every check is remembered.
    verifiedTokens.set(digest, user, jwt.payload, keyToVerify);
  }
}, { name: 'authentication' });
