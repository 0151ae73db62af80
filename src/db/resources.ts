// The acs_resource of local mode's rows (migrations/004_acs_resource.sql): its emulator has no
// stable host name (a new port each start), so its rows carry this name instead.
export const LOCAL_ACS_RESOURCE = 'local';
