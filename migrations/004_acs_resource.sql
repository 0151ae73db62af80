-- Which ACS resource each mapping and queued deletion belongs to: the ACS endpoint's host name,
-- or `local` for local mode's emulator. A service reads, creates, revokes and deletes only rows
-- of its own resource (and local mode refuses a database that holds another's).
-- Rows from before this column: local mode's emulator always gave its identities the resource
-- id 71c61649-f626-4beb-8a0b-6dd3786e4c6b, so those are `local`; every other row gets '' (not
-- known), which a configured service takes as its own and local mode never touches. The
-- default stays: the previous release's pods, still running while a release rolls out, write
-- rows without the column.
-- The user key stays unique across resources: one database serves one ACS resource.
ALTER TABLE acs_identities ADD COLUMN acs_resource text NOT NULL DEFAULT '';
ALTER TABLE acs_identity_deletions ADD COLUMN acs_resource text NOT NULL DEFAULT '';
UPDATE acs_identities SET acs_resource = 'local' WHERE acs_user_id LIKE '8:acs:71c61649-f626-4beb-8a0b-6dd3786e4c6b\_%';
UPDATE acs_identity_deletions SET acs_resource = 'local' WHERE acs_user_id LIKE '8:acs:71c61649-f626-4beb-8a0b-6dd3786e4c6b\_%';
