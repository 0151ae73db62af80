// GUIDs, as Entra ID writes tenant, object and client ids.

const GUID_BODY = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** A GUID in either case, for JSON schemas (whose patterns take no flags). */
export const GUID_PATTERN = `^${GUID_BODY.replaceAll('0-9a-f', '0-9a-fA-F')}$`;

/** A GUID in either case (settings, which people type). */
export const GUID = new RegExp(`^${GUID_BODY}$`, 'i');

/** A GUID in lower case, as Entra ID writes them in tokens. */
export const LOWER_CASE_GUID = new RegExp(`^${GUID_BODY}$`);
