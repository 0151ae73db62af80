-- One worker per tenant offboarding at a time, whichever replica or CLI runs it: the worker
-- holds the job under a lease it renews batch after batch. Another worker that finds the lease
-- held waits; it takes the job over once the lease lapses (its holder died) or is released.
-- (The items' own leases keep two workers from deleting the same identity meanwhile.)
ALTER TABLE tenant_offboardings
  ADD COLUMN worker_id          uuid,
  ADD COLUMN worker_lease_until timestamptz;
