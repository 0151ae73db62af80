// A real, independently written OpenID Provider (the certified `oidc-provider` package) on a
// loopback port, as a peer for the service's AUTH_ISSUERS support: it issues RFC 9068 JWT
// access tokens for this API through a real authorization code flow (with PKCE, its own login
// and consent pages) and through the client credentials grant. It can be restarted on the same
// port with a new signing key, as an identity provider rotates its key.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** The API's resource indicator and the `aud` of its access tokens. */
export const PROVIDER_API = 'urn:acs-token-service';
export const PROVIDER_SCOPE = 'access_as_user';
const CLIENT = { id: 'demo-app', secret: randomBytes(24).toString('base64url'), redirectUri: 'https://app.example.test/callback' };

export interface OpenIdProvider {
  /** Its `iss`: http://127.0.0.1:<port>. */
  readonly issuer: string;
  /** The kid of its current signing key. */
  readonly kid: string;
  /** The AUTH_ISSUERS entry that trusts it. */
  readonly authIssuer: { issuer: string; audience: string; scope: string };
  /** Signs `login` in through the code flow and returns the access token for this API. */
  userAccessToken(login: string): Promise<string>;
  /** The client's own access token for this API (client credentials grant). */
  clientAccessToken(): Promise<string>;
  /** Stops, and starts again on the same port with a new signing key (the old one withdrawn). */
  restartWithNewKey(): Promise<void>;
  close(): Promise<void>;
}

function newSigningJwk(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function newProvider(issuer: string, signingJwk: Record<string, unknown>): Provider {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: [CLIENT.redirectUri],
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PROVIDER_API,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: PROVIDER_SCOPE,
          audience: PROVIDER_API,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  // Its own warnings (development interactions, plain http) are expected here.
  provider.on('server_error', () => undefined);
  return provider;
}

/** Its request handler, closing each connection: a restart must not leave clients a dead socket. */
function withoutKeepAlive(provider: Provider): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = provider.callback();
  return (req, res) => {
    res.shouldKeepAlive = false;
    // Koa answers a request's errors itself: the promise it returns does not reject.
    void handle(req, res);
  };
}

/** A minimal cookie jar: the provider's interaction cookies, sent back on every request. */
class Cookies {
  private readonly values = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.values.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }
  get header(): string {
    return [...this.values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export async function startOpenIdProvider(): Promise<OpenIdProvider> {
  let server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  let signingJwk = newSigningJwk();
  server.on('request', withoutKeepAlive(newProvider(issuer, signingJwk)));

  /** Follows the provider's redirects by hand (keeping cookies) until it leaves for the client. */
  async function follow(url: string, cookies: Cookies, init: RequestInit = {}): Promise<Response> {
    let response = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: cookies.header } });
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops++) {
      cookies.take(response);
      const next = new URL(response.headers.get('location')!, url);
      if (next.origin !== issuer) return response;
      response = await fetch(next, { redirect: 'manual', headers: { cookie: cookies.header } });
    }
    cookies.take(response);
    return response;
  }

  /** Submits the interaction page it is on (login, then consent) until the code comes back. */
  async function codeFor(login: string, verifier: string): Promise<string> {
    const cookies = new Cookies();
    const authorize = new URL('/auth', issuer);
    authorize.search = new URLSearchParams({
      client_id: CLIENT.id, response_type: 'code', redirect_uri: CLIENT.redirectUri, scope: `openid ${PROVIDER_SCOPE}`,
      resource: PROVIDER_API, state: randomUUID(), code_challenge_method: 'S256',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    }).toString();
    let response = await follow(authorize.toString(), cookies);
    for (const prompt of ['login', 'consent']) {
      if (response.status !== 200) break;
      const page = new URL(response.url || authorize.toString());
      const action = /action="([^"]+)"/.exec(await response.text())?.[1];
      if (action === undefined) throw new Error(`no form on the ${prompt} page`);
      response = await follow(new URL(action, page).toString(), cookies, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt, login, password: 'any' }).toString(),
      });
    }
    const back = new URL(response.headers.get('location') ?? '', issuer);
    const code = back.searchParams.get('code');
    if (back.origin + back.pathname !== CLIENT.redirectUri || code === null) {
      throw new Error(`the code flow ended at ${back.href} (${response.status})`);
    }
    return code;
  }

  async function token(form: Record<string, string>): Promise<string> {
    const response = await fetch(new URL('/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT.id, client_secret: CLIENT.secret, resource: PROVIDER_API, ...form }).toString(),
    });
    const body = await response.json() as { access_token?: string; error_description?: string };
    if (!body.access_token) throw new Error(`the token endpoint answered ${response.status}: ${body.error_description}`);
    return body.access_token;
  }

  return {
    issuer,
    get kid() {
      return signingJwk.kid as string;
    },
    authIssuer: { issuer, audience: PROVIDER_API, scope: PROVIDER_SCOPE },
    async userAccessToken(login) {
      const verifier = randomBytes(32).toString('base64url');
      const code = await codeFor(login, verifier);
      return token({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUri, code_verifier: verifier });
    },
    clientAccessToken: () => token({ grant_type: 'client_credentials', scope: PROVIDER_SCOPE }),
    async restartWithNewKey() {
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      signingJwk = newSigningJwk();
      server = createServer(withoutKeepAlive(newProvider(issuer, signingJwk)));
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
