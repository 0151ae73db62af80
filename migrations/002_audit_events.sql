-- The audit trail: what happened, when, to whom — the user only as a keyed hash of their
-- user key, never in clear, and never a token. Rows older than the retention are deleted.
CREATE TABLE audit_events (
  id         bigserial   PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  event      text        NOT NULL,
  user_hash  text,
  details    jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_hash, at);
