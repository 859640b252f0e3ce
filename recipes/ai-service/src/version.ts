// What GET /version answers (SERVICE_VERSION overrides it at deploy time). Edit it while
// `devloop up` runs: the next request is served by a new revision with the new value.
export const VERSION = '0.1.0';
