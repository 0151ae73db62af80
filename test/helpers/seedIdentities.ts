// Many users at once, as if the service had created them: their mappings inserted in one
// statement and their identities made to exist in the ACS emulator (faster than one HTTP
// request and one ACS call each).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AcsEmulator } from '../../emulators/acsEmulator.js';

/** The prefix of the emulator's identity ids, for an emulator started with this `resourceName`. */
export const acsIdPrefix = (resourceName: string) => `8:acs:${resourceName}_`;

/** Maps `count` new users of `tenantId` to new identities (ids starting with `prefix`); returns the users and their ACS ids. */
export async function seedIdentities(db: pg.Pool, acs: AcsEmulator, prefix: string, tenantId: string, count: number): Promise<{ objectIds: string[]; acsUserIds: string[] }> {
  const objectIds = Array.from({ length: count }, () => randomUUID());
  const acsUserIds = objectIds.map(() => `${prefix}${randomUUID()}`);
  await db.query(
    `INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource)
     SELECT $1, o, a, $4 FROM unnest($2::text[], $3::text[]) AS u(o, a)`, [tenantId, objectIds, acsUserIds, new URL(acs.endpoint).hostname]);
  acs.adoptIdentities(acsUserIds);
  return { objectIds, acsUserIds };
}
