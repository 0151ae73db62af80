// Authentication of callers (docs/security.md): `app.authenticate` is the onRequest hook of every
// /api route. TrustedIssuers picks, from the token's `iss`, whose rules apply (Entra ID or an
// AUTH_ISSUERS entry); that issuer decides, before any key lookup, whether the token could be
// acceptable at all, and names the key set and key; @fastify/jwt (fast-jwt) verifies the
// signature, exp/nbf, issuer and audience; the issuer then says who the caller is.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import type { AuthConfig } from '../auth/authSettings.js';
import { AuthError } from '../auth/authError.js';
import { extractBearerToken, headerKid } from '../auth/bearerToken.js';
import { IdentityProviderHttp } from '../auth/identityProviderHttp.js';
import { KeySetUnavailableError, SigningKeys, UNKNOWN_KEY, type KeyReference } from '../auth/signingKeys.js';
import type { Caller } from '../auth/caller.js';
import { EntraIssuer } from '../auth/entraIssuer.js';
import type { DecodedJwt } from '../auth/issuer.js';
import { OidcIssuer } from '../auth/oidcIssuer.js';
import { TrustedIssuers } from '../auth/trustedIssuers.js';
import { VerifiedTokens } from '../auth/verifiedTokens.js';

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Record<string, unknown>;
    /** The verified caller (null until authentication, and for a refused one). */
    user: Caller;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's bearer token, once read (by recogniseVerifiedToken); never logged. */
    bearerToken: string | null;
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

// fast-jwt/@fastify/jwt error codes → what the caller is told. Anything else: "invalid".
// (Algorithm and signature-format errors never get this far: the issuer's header
// check refuses them first.)
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
    decode: { complete: true },
    // The token's issuer picks the rules and the key set; only then is a key looked up.
    secret: async (request: FastifyRequest, token: unknown) => {
      const key = issuers.issuerOf(token as DecodedJwt).keyToVerify(token as DecodedJwt);
      verifyingKeys.set(request, key);
      return signingKeys.publicKeyFor(key.keySet, key.alg, key.kid);
    },
    verify: {
      algorithms: rules.algorithms as never,
      allowedIss: rules.allowedIss,
      allowedAud: rules.allowedAud,
      requiredClaims: rules.requiredClaims,
      clockTolerance: rules.clockToleranceMs,
      extractToken: extractBearerToken,
      // Verified tokens are remembered by VerifiedTokens (below), in front of all this: a
      // cache in fast-jwt too would hold the same tokens twice.
      cache: false,
    },
    // fast-jwt's messages name the failed check (signature, aud, iss) and nothing secret.
    messages: { authorizationTokenInvalid: (error: Error) => error.message },
  });

  app.decorate('signingKeys', signingKeys);
  app.decorate('identityProviderHttp', identityProviderHttp);
  // The key each request's token named (set by `secret` above), for VerifiedTokens.
  const verifyingKeys = new WeakMap<FastifyRequest, KeyReference>();
  // A client's repeated requests with one token get the same caller back, with its user key
  // worked out when the caller was made; the hashes remembered per caller (log, audit, rate
  // limit) are worked out once per token too.
  const verifiedTokens = new VerifiedTokens(signingKeys, rules.clockToleranceMs);
  // The bearer token each request carried, once recogniseVerifiedToken has read it (a
  // property, not a WeakMap: cheaper per request, which counts in a flood of bad tokens).
  app.decorateRequest('bearerToken', null);
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
        request.bearerToken = token;
        const known = verifiedTokens.get(token);
        if (known) request.user = known;
      }
    }
    done();
  });
  // A callback hook: a remembered token (most requests) is served without a promise.
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
    verify(request, token).then(() => done(), done);
  });

  /** The full check of a token not remembered; sets request.user or rejects with the refusal. */
  async function verify(request: FastifyRequest, token: string): Promise<void> {
    let payload: Record<string, unknown>;
    try {
      payload = (await request.jwtVerify()) as unknown as Record<string, unknown>;
    } catch (error) {
      throw toAuthError(error);
    }
    let user: Caller;
    try {
      user = issuers.callerOf(payload);
    } catch (error) {
      // jwtVerify left the raw payload in request.user: a refused caller is nobody, not
      // whatever its claims say (the log line and the audit trail read request.user).
      request.user = null as never;
      throw error;
    }
    request.user = user;
    // Only a token that passed every check is remembered.
    verifiedTokens.set(token, user, payload, verifyingKeys.get(request)!);
  }
}, { name: 'authentication' });
