// The composition root of the configuration: what the process entry, the app and the tests use.
export type { AcsConfig } from '../acs/acsSettings.js';
export type { AuthConfig } from '../auth/authSettings.js';
export { ConfigError, type Config } from './config.js';
export { CONFIG_VARIABLES, configSchema } from './configSchema.js';
export { loadConfig } from './loadConfig.js';
