-- When the user's ACS tokens were last revoked. Replicas reuse a recently issued ACS token
-- (ACS_TOKEN_REUSE_SECONDS) only if it was issued after this time, which the warm path reads
-- with the mapping anyway: a revocation on one replica stops reuse on all of them.
ALTER TABLE acs_identities ADD COLUMN tokens_revoked_at timestamptz;
