// Every environment variable the service reads, as one JSON schema made of the modules'
// sections: checked at once, so that every problem is named together.
import { Type, type Static } from 'typebox';
import { acsSettingsSchema } from '../acs/acsSettings.js';
import { adminSettingsSchema } from '../admin/adminSettings.js';
import { adminPacingSchema } from '../admin/adminPacing.js';
import { auditSettingsSchema } from '../audit/auditSettings.js';
import { authSettingsSchema } from '../auth/authSettings.js';
import { databaseSettingsSchema } from '../db/databaseSettings.js';
import { httpServerLimitsSchema } from '../httpServerLimits.js';
import { deletionSettingsSchema } from '../identities/deletionSettings.js';
import { metricsSettingsSchema } from '../plugins/metricsSettings.js';
import { overloadSettingsSchema } from '../plugins/overloadSettings.js';
import { pageSettingsSchema } from '../plugins/pageSettings.js';
import { rateLimitSettingsSchema } from '../plugins/rateLimitSettings.js';
import { trustProxySettingsSchema } from '../trustProxy.js';
import { SECRET_FILE_VARIABLES } from './secretFiles.js';
import { serverSettingsSchema } from './serverSettings.js';

export const configSchema = Type.Object({
  ...serverSettingsSchema.properties,
  ...databaseSettingsSchema.properties,
  ...httpServerLimitsSchema.properties,
  ...metricsSettingsSchema.properties,
  ...overloadSettingsSchema.properties,
  ...rateLimitSettingsSchema.properties,
  ...trustProxySettingsSchema.properties,
  ...pageSettingsSchema.properties,
  ...auditSettingsSchema.properties,
  ...acsSettingsSchema.properties,
  ...deletionSettingsSchema.properties,
  ...adminPacingSchema.properties,
  ...authSettingsSchema.properties,
  ...adminSettingsSchema.properties,
});

/** The environment once the schema has checked it, its defaults filled in. */
export type ConfigEnv = Static<typeof configSchema>;

/** Every environment variable the service reads (for checks of deployment manifests). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(configSchema.properties),
  ...SECRET_FILE_VARIABLES.map((name) => `${name}_FILE`),
  'NODE_ENV', 'LOCAL_MODE', 'PGLITE_DATA_DIR', 'LOCAL_ACS_TOKEN_SECONDS',
];
