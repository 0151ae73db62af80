// The pages the service serves beside its API: the demo at /demo, and the API docs at /docs
// (with /openapi.json) and the server their "Try it out" calls.
import { Type, type Static } from 'typebox';
import { HTTPS_OR_LOOPBACK_HTTP, isHttpsOrLoopbackHttp } from '../shared/urlRules.js';

export interface PageSettings {
  /** The demo page at /demo (always on in local mode). */
  demo: { enabled: boolean; clientId: string | undefined; apiScope: string | undefined };
  /** /docs and /openapi.json; the server "Try it out" calls (undefined: the page's own origin). */
  docs: { enabled: boolean; publicBaseUrl: string | undefined };
}

export const pageSettingsSchema = Type.Object({
  DEMO_ENABLED: Type.Boolean({ default: false }),
  DEMO_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
  DEMO_API_SCOPE: Type.Optional(Type.String({ pattern: '^\\S+$' })),
  DOCS_ENABLED: Type.Boolean({ default: true }),
  PUBLIC_BASE_URL: Type.Optional(Type.String({ minLength: 1 })),
});

/** PUBLIC_BASE_URL without its trailing slash: https, or http on a loopback host; no query or fragment. */
function parsePublicBaseUrl(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('PUBLIC_BASE_URL is not a URL');
    return undefined;
  }
  if (!isHttpsOrLoopbackHttp(url)) problems.push(`PUBLIC_BASE_URL ${HTTPS_OR_LOOPBACK_HTTP}`);
  if (url.search || url.hash || value.includes('?') || value.includes('#')) problems.push('PUBLIC_BASE_URL must have no query or fragment');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The demo and docs sections; each problem goes to `problems`. */
export function pageSettings(raw: Static<typeof pageSettingsSchema>, problems: string[]): PageSettings {
  return {
    demo: Object.freeze({ enabled: raw.DEMO_ENABLED, clientId: raw.DEMO_CLIENT_ID, apiScope: raw.DEMO_API_SCOPE }),
    docs: Object.freeze({ enabled: raw.DOCS_ENABLED, publicBaseUrl: parsePublicBaseUrl(raw.PUBLIC_BASE_URL, problems) }),
  };
}
