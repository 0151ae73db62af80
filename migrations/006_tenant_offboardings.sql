-- Tenant offboarding: a job that deletes every identity of a tenant, resumable after its
-- process dies. One open job per tenant and ACS resource (starting it again returns it). Its
-- identities are listed once (and topped up with any created meanwhile) as items; workers
-- claim due items with FOR UPDATE SKIP LOCKED and a lease, and commit their progress batch by
-- batch. Who asked is kept here: the audit trail has no column for it.
CREATE TABLE tenant_offboardings (
  id            uuid        PRIMARY KEY,
  tenant_id     text        NOT NULL,
  acs_resource  text        NOT NULL,
  requested_by  text        NOT NULL,
  state         text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'completed')),
  total         integer     NOT NULL DEFAULT 0,
  deleted       integer     NOT NULL DEFAULT 0,
  -- Identities whose last attempt failed and that wait for a retry.
  failed        integer     NOT NULL DEFAULT 0,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz
);

CREATE UNIQUE INDEX tenant_offboardings_open ON tenant_offboardings (tenant_id, acs_resource) WHERE state = 'running';
CREATE INDEX tenant_offboardings_tenant ON tenant_offboardings (tenant_id, created_at);

CREATE TABLE tenant_offboarding_items (
  job_id          uuid        NOT NULL REFERENCES tenant_offboardings (id) ON DELETE CASCADE,
  object_id       text        NOT NULL,
  acs_user_id     text        NOT NULL,
  state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'deleted')),
  attempts        integer     NOT NULL DEFAULT 0,
  -- When it may be tried (again): pushed ahead by a claim (its lease) and by a failure (backoff).
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  PRIMARY KEY (job_id, object_id)
);

CREATE INDEX tenant_offboarding_items_due ON tenant_offboarding_items (job_id, next_attempt_at) WHERE state = 'pending';
