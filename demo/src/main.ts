// The demo page: sign in (local mode: the emulator's user; configured: Entra ID with MSAL),
// then the whole flow against this service — identity, ACS token with a live countdown and
// automatic refresh (AzureCommunicationTokenCredential), revoke, Teams token, delete. Every
// refusal is shown as the service's problem+json title and detail.
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { PublicClientApplication, InteractionRequiredAuthError, type AccountInfo } from '@azure/msal-browser';
import { broadcastResponseToMainFrame } from '@azure/msal-browser/redirect-bridge';

interface DemoConfig {
  mode: 'local' | 'entra';
  /** Entra mode: the SPA's client id, the authority and the API scope to ask for. */
  clientId?: string;
  authority?: string;
  scope?: string;
}

interface Problem {
  title?: string;
  detail?: string;
  code?: string;
}

interface AcsToken {
  token: string;
  expiresOn: string;
}

class ServiceError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

const element = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let userToken: (() => Promise<string>) | undefined;
let localUser: string | undefined;
let credential: AzureCommunicationTokenCredential | undefined;
let countdown: number | undefined;

async function callService<T>(method: string, path: string, headers: Record<string, string> = {}): Promise<T | undefined> {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${await userToken!()}`, ...headers } });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) throw new ServiceError(response.status, body ?? { title: response.statusText });
  return body as T | undefined;
}

function say(message: string): void {
  element('status').textContent = message;
}

function showError(error: unknown): void {
  const box = element('error');
  if (error instanceof ServiceError) {
    element('error-title').textContent = `${error.status} ${error.problem.title ?? ''}`.trim();
    element('error-detail').textContent = error.problem.detail ?? '';
    element('error-code').textContent = error.problem.code ?? '';
  } else {
    element('error-title').textContent = 'The request did not reach the service';
    element('error-detail').textContent = error instanceof Error ? error.message : String(error);
    element('error-code').textContent = '';
  }
  box.hidden = false;
  say('');
}

/** Runs a button's action with the button disabled and the last error cleared. */
function action(id: string, run: () => Promise<void>): void {
  const button = element<HTMLButtonElement>(id);
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- it catches and shows every error itself
  button.addEventListener('click', async () => {
    button.disabled = true;
    element('error').hidden = true;
    try {
      await run();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
}

function showToken(kind: string, token: string): void {
  const claims = claimsOf(token);
  const expiresAt = Number(claims.exp) * 1000;
  element('token').hidden = false;
  element('token-kind').textContent = kind;
  // An ACS token names its scopes in acsScope (its scp is a number); an Entra token in scp.
  const scopes = claims.acsScope ?? claims.scp;
  element('token-scopes').textContent = typeof scopes === 'string' || typeof scopes === 'number' ? String(scopes) : '';
  element('token-expires').textContent = new Date(expiresAt).toLocaleTimeString();
  window.clearInterval(countdown);
  const tick = () => {
    const seconds = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    element('token-countdown').textContent = seconds > 0 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : 'expired';
  };
  tick();
  countdown = window.setInterval(tick, 1000);
}

function stopToken(reason: string): void {
  credential?.dispose();
  credential = undefined;
  window.clearInterval(countdown);
  element('token-countdown').textContent = reason;
}

async function showIdentity(): Promise<void> {
  try {
    const user = await callService<{ acsUserIdentity: string }>('GET', '/api/user');
    element('identity-value').textContent = user!.acsUserIdentity;
    element('create-identity').hidden = true;
  } catch (error) {
    if (!(error instanceof ServiceError && error.status === 404)) throw error;
    element('identity-value').textContent = 'No ACS identity yet.';
    element('create-identity').hidden = false;
  }
}

async function signedIn(name: string): Promise<void> {
  element('signed-in-name').textContent = name;
  element('signed-in').hidden = false;
  element('local-sign-in').hidden = true;
  element('entra-sign-in').hidden = true;
  element('identity').hidden = false;
  await showIdentity();
  say(`Signed in as ${name}.`);
}

async function fetchAcsToken(): Promise<AcsToken> {
  return (await callService<AcsToken & { user: { communicationUserId: string } }>('GET', '/api/token'))!;
}

function wireActions(): void {
  action('create-identity', async () => {
    await callService('POST', '/api/user');
    await showIdentity();
    say('Identity created.');
  });
  action('get-token', async () => {
    const first = await fetchAcsToken();
    stopToken('');
    element('refreshes').textContent = '';
    showToken('ACS user token', first.token);
    await showIdentity();
    // The credential refreshes the token itself shortly before it expires, through this service.
    credential = new AzureCommunicationTokenCredential({
      token: first.token,
      refreshProactively: true,
      tokenRefresher: async () => {
        const next = await fetchAcsToken();
        const item = document.createElement('li');
        item.textContent = `Refreshed at ${new Date().toLocaleTimeString()}; the new token expires at ${new Date(next.expiresOn).toLocaleTimeString()}.`;
        element('refreshes').append(item);
        showToken('ACS user token', next.token);
        return next.token;
      },
    });
    say('ACS token received.');
  });
  action('teams-token', async () => {
    // Local mode: the emulator's Teams user is the signed-in user; with Entra ID the service
    // obtains the Teams token on the user's behalf, if it is configured to.
    const headers: Record<string, string> = {};
    if (localUser) {
      const teams = await fetch(`/local/token?user=${encodeURIComponent(localUser)}&teams=true`);
      headers['teams-user-aad-token'] = ((await teams.json()) as { token: string }).token;
    }
    const answer = await callService<AcsToken>('GET', '/api/token/teams', headers);
    stopToken('');
    showToken('ACS token of the Teams user', answer!.token);
    say('Teams token received.');
  });
  action('revoke-tokens', async () => {
    await callService('POST', '/api/token/revoke');
    stopToken('revoked');
    say('Every ACS token of this identity is revoked.');
  });
  action('delete-identity', async () => {
    await callService('DELETE', '/api/user');
    stopToken('identity deleted');
    element('token').hidden = true;
    await showIdentity();
    say('Your ACS identity and its mapping are deleted.');
  });
  element('sign-out').addEventListener('click', () => window.location.reload());
}

async function startLocal(): Promise<void> {
  const form = element<HTMLFormElement>('local-sign-in');
  form.hidden = false;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- it catches and shows every error itself
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    element('error').hidden = true;
    const name = element<HTMLInputElement>('user-name').value;
    const tokenFor = async () => {
      const response = await fetch(`/local/token?user=${encodeURIComponent(name)}`);
      const body = (await response.json()) as { token?: string } & Problem;
      if (!response.ok || !body.token) throw new ServiceError(response.status, body);
      return body.token;
    };
    try {
      await tokenFor();
      localUser = name;
      userToken = tokenFor;
      await signedIn(name);
    } catch (error) {
      showError(error);
    }
  });
}

async function startEntra(config: DemoConfig): Promise<void> {
  const msal = new PublicClientApplication({
    auth: { clientId: config.clientId!, authority: config.authority!, redirectUri: `${window.location.origin}/demo/` },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await msal.initialize();
  const scopes = [config.scope!];
  const tokenFor = (account: AccountInfo) => async () => {
    try {
      return (await msal.acquireTokenSilent({ scopes, account })).accessToken;
    } catch (error) {
      if (!(error instanceof InteractionRequiredAuthError)) throw error;
      return (await msal.acquireTokenPopup({ scopes, account })).accessToken;
    }
  };
  const account = msal.getAllAccounts()[0];
  if (account) {
    userToken = tokenFor(account);
    await signedIn(account.username);
    return;
  }
  element('entra-sign-in').hidden = false;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- it catches and shows every error itself
  element('entra-button').addEventListener('click', async () => {
    try {
      const result = await msal.loginPopup({ scopes });
      userToken = tokenFor(result.account);
      await signedIn(result.account.username);
    } catch (error) {
      showError(error);
    }
  });
}

/** This page opened by MSAL as its popup or hidden frame, with Entra ID's answer in the URL. */
function isMsalRedirect(): boolean {
  const answered = /[#&?](code|error)=/.test(window.location.hash + window.location.search);
  return answered && (window.opener !== null || window.parent !== window);
}

async function start(): Promise<void> {
  // MSAL 5: the redirect page hands Entra ID's answer back to the page that asked, and stops.
  if (isMsalRedirect()) return broadcastResponseToMainFrame();
  wireActions();
  const config = (await (await fetch('/demo/config.json')).json()) as DemoConfig;
  element('mode').textContent = config.mode === 'local'
    ? 'Local mode: emulated Entra ID and ACS, nothing leaves this machine.'
    : 'Signed in with Microsoft Entra ID, against the configured ACS resource.';
  await (config.mode === 'local' ? startLocal() : startEntra(config));
}

start().catch(showError);
