-- One ACS identity per user for life: the user key (tenant_id, object_id) is unique, and so is
-- the ACS id. Columns are text so that other issuers' keys (iss, sub) fit later.
CREATE TABLE acs_identities (
  tenant_id   text        NOT NULL,
  object_id   text        NOT NULL,
  acs_user_id text        NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, object_id)
);

-- ACS identities whose user is gone but whose deletion in ACS is not confirmed yet. A row
-- leaves this table only when ACS has deleted the identity (or no longer knows it), so no
-- identity is ever left alive without a record that it must still be deleted.
CREATE TABLE acs_identity_deletions (
  acs_user_id     text        PRIMARY KEY,
  requested_at    timestamptz NOT NULL DEFAULT now(),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text
);

CREATE INDEX acs_identity_deletions_due ON acs_identity_deletions (next_attempt_at);
