-- Erasure receipts: what an operator's deletion of a user (the admin API) leaves behind, as
-- proof that it was asked for and done. Who asked (the operator application's client id), when,
-- and when ACS confirmed the ACS identity deleted. The user appears only as the audit trail's
-- keyed hash; the ACS user id is kept only until ACS confirms (so that the confirmation can be
-- recorded), then cleared. Receipts are deleted after ADMIN_RECEIPT_RETENTION_DAYS.
CREATE TABLE erasure_receipts (
  id            uuid        PRIMARY KEY,
  requested_by  text        NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  confirmed_at  timestamptz,
  user_hash     text        NOT NULL,
  acs_user_id   text,
  acs_resource  text        NOT NULL DEFAULT '',
  CONSTRAINT erasure_receipts_clear_once_confirmed CHECK (confirmed_at IS NULL OR acs_user_id IS NULL)
);

CREATE INDEX erasure_receipts_pending ON erasure_receipts (acs_user_id) WHERE acs_user_id IS NOT NULL;
CREATE INDEX erasure_receipts_requested_at ON erasure_receipts (requested_at);

-- A queued deletion's row leaves acs_identity_deletions only when ACS has deleted the identity
-- (or no longer knows it): that is the confirmation, whichever replica or path got it (the
-- request itself or a later retry), recorded in the same transaction.
CREATE FUNCTION erasure_receipts_confirm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE erasure_receipts SET confirmed_at = now(), acs_user_id = NULL WHERE acs_user_id = OLD.acs_user_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER erasure_receipts_confirm AFTER DELETE ON acs_identity_deletions
  FOR EACH ROW EXECUTE FUNCTION erasure_receipts_confirm();
