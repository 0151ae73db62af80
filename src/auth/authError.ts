// A refused caller. The error handler turns it into 401/403 problem+json with an RFC 6750
// `WWW-Authenticate` challenge; the description is safe to show (it names no key or secret).
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly description: string,
    /**
     * For a 403: the scope the caller's issuer requires, for the challenge (undefined: the
     * Entra ID scope; null: none, for an issuer that requires no scope).
     */
    readonly scope?: string | null,
  ) {
    // An expected refusal: answered, never debugged. Capturing its stack trace was the largest
    // cost of refusing a flood of bad requests.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(description);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'AuthError';
  }

  static invalidToken(description: string): AuthError {
    return new AuthError(401, description);
  }

  static insufficientScope(description: string, scope?: string | null): AuthError {
    return new AuthError(403, description, scope);
  }
}
