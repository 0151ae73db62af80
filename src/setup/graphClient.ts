// A small Microsoft Graph v1.0 client over fetch: the operator's token, a timeout per request,
// a bounded retry of throttling and outages, and of an object this run created that a replica
// does not know yet (Graph is eventually consistent), and Graph's own error code and message when it refuses.
import type { TokenCredential } from '@azure/identity';

const TIMEOUT_MS = 30_000;
const ATTEMPTS = 3;
const RETRY_AFTER_CAP_MS = 10_000;
// A new object reaches every Graph replica within seconds.
const NOT_FOUND_ATTEMPTS = 5;
const NOT_FOUND_DELAY_MS = 1000;

/** Graph refused, or could not be reached (status 0). */
export class GraphRequestError extends Error {
  constructor(readonly status: number, readonly code: string, readonly graphMessage: string, readonly request: string) {
    super(status ? `Microsoft Graph refused ${request}: ${status} ${code}: ${graphMessage}` : `${request}: ${graphMessage}`);
  }
}

export interface GraphClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  patch(path: string, body: unknown): Promise<void>;
  /** The values of a list (the first page: the filters used here match a few objects). */
  list<T>(path: string): Promise<T[]>;
  /** The signed-in operator's tenant, from their token. */
  tenantId(): Promise<string | undefined>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryDelay(response: Response, attempt: number): number {
  const seconds = Number(response.headers.get('retry-after'));
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 500 * 2 ** attempt, RETRY_AFTER_CAP_MS);
}

export function graphClient(baseUrl: string, credential: TokenCredential): GraphClient {
  const scope = `${baseUrl}/.default`;
  let lastToken = '';
  /** Ids of the objects this client created: a 404 for one of them is a replica not yet told. */
  const created = new Set<string>();

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const request = `${method} ${path.split('?')[0]}`;
    const token = await credential.getToken(scope);
    if (!token) throw new GraphRequestError(0, 'no_token', 'the sign-in gave no token for Microsoft Graph', request);
    lastToken = token.token;
    // A POST whose answer was lost may have created its object: only a throttled one (429, not
    // processed) is sent again, lest a retry make a second app registration.
    const mayRepeat = method !== 'POST';
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${baseUrl}/v1.0${path}`, {
          method,
          headers: { authorization: `Bearer ${token.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        if (mayRepeat && attempt < ATTEMPTS) { await sleep(500 * 2 ** attempt); continue; }
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        throw new GraphRequestError(0, 'unreachable', `Microsoft Graph (${baseUrl}) did not answer: ${cause}`, request);
      }
      if ((response.status === 429 || (mayRepeat && response.status >= 502)) && attempt < ATTEMPTS) {
        await sleep(retryDelay(response, attempt));
        continue;
      }
      if (response.ok) return response;
      const text = await response.text();
      let error: { code?: string; message?: string } = {};
      try { error = (JSON.parse(text) as { error?: typeof error }).error ?? {}; } catch { /* not JSON: the status says it */ }
      const justCreated = [...created].some((id) => path.split('?')[0]!.split('/').includes(id));
      if (response.status === 404 && error.code === 'Request_ResourceNotFound' && justCreated && attempt < NOT_FOUND_ATTEMPTS) {
        await sleep(NOT_FOUND_DELAY_MS * attempt);
        continue;
      }
      throw new GraphRequestError(response.status, error.code ?? response.statusText, error.message ?? text.slice(0, 200), request);
    }
  }

  return {
    get: async <T>(path: string) => (await (await send('GET', path)).json()) as T,
    async post<T>(path: string, body: unknown) {
      const object = (await (await send('POST', path, body)).json()) as T & { id?: unknown };
      if (typeof object.id === 'string') created.add(object.id);
      return object;
    },
    patch: async (path: string, body: unknown) => { await (await send('PATCH', path, body)).arrayBuffer(); },
    list: async <T>(path: string) => ((await (await send('GET', path)).json()) as { value: T[] }).value,
    async tenantId() {
      if (!lastToken) await credential.getToken(scope).then((token) => { lastToken = token?.token ?? ''; });
      try {
        const claims = JSON.parse(Buffer.from(lastToken.split('.')[1] ?? '', 'base64url').toString()) as { tid?: unknown };
        return typeof claims.tid === 'string' ? claims.tid : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** `$filter=name eq 'value'`, quoted as OData wants. */
export const filterEq = (name: string, value: string) => `$filter=${encodeURIComponent(`${name} eq '${value.replaceAll("'", "''")}'`)}`;
