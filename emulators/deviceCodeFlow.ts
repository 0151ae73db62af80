// The device code flow (RFC 8628) of the Entra ID emulator, as `az login --use-device-code` and
// @azure/identity's DeviceCodeCredential use it: POST {tenant}/oauth2/v2.0/devicecode gives a
// user code to enter in a browser; the token endpoint answers `authorization_pending` until a
// user has entered it (here: `approve`, as a test does), then a token for the scope's resource.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

type Answer = { status: number; body: Record<string, unknown> };

export interface DeviceCodeFlowOptions {
  authorityHost: () => string;
  /** The tenant of a sign-in to `organizations` or `common`. */
  defaultTenant: string;
  mint: (claims: Record<string, unknown>) => string;
  issuerOf: (tenant: string) => string;
  oauthError: (status: number, error: string, description: string) => Answer;
}

export interface DeviceCodeFlow {
  grant(form: Record<string, string>): Answer;
  approve(userCode: string, user?: { objectId?: string }): boolean;
}

// RFC 8628's name, and the short one MSAL sends (Entra ID takes both).
const DEVICE_CODE_GRANTS = ['urn:ietf:params:oauth:grant-type:device_code', 'device_code'];
const LIFETIME_SECONDS = 900;

export const isDeviceCodeGrant = (form: Record<string, string>) => DEVICE_CODE_GRANTS.includes(form.grant_type ?? '');

export function registerDeviceCodeFlow(app: FastifyInstance, options: DeviceCodeFlowOptions): DeviceCodeFlow {
  const { mint, issuerOf, oauthError } = options;
  const pendings = new Map<string, { userCode: string; tenant: string; clientId: string; scopes: string[]; expiresAt: number; objectId?: string }>();
  const tenantOf = (tenant: string) => (/^[0-9a-f-]{36}$/i.test(tenant) ? tenant : options.defaultTenant);

  app.post<{ Params: { tenant: string }; Body: Record<string, string> }>('/:tenant/oauth2/v2.0/devicecode', async (request, reply) => {
    const form = request.body ?? {};
    if (!form.client_id) return reply.code(400).send(oauthError(400, 'invalid_request', "AADSTS900144: The request body must contain the following parameter: 'client_id'.").body);
    const userCode = randomBytes(6).toString('hex').slice(0, 9).toUpperCase();
    const deviceCode = randomBytes(32).toString('base64url');
    pendings.set(deviceCode, { userCode, tenant: tenantOf(request.params.tenant), clientId: form.client_id, scopes: (form.scope ?? '').split(' '), expiresAt: Date.now() + LIFETIME_SECONDS * 1000 });
    const verificationUri = `${options.authorityHost()}/common/oauth2/deviceauth`;
    return {
      user_code: userCode,
      device_code: deviceCode,
      verification_uri: verificationUri,
      expires_in: LIFETIME_SECONDS,
      interval: 1,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
    };
  });

  return {
    grant(form) {
      const pending = pendings.get(form.device_code ?? '');
      if (!pending || pending.clientId !== form.client_id) return oauthError(400, 'invalid_grant', "AADSTS70000: The provided value for the input parameter 'device_code' is not valid.");
      if (pending.expiresAt <= Date.now()) return oauthError(400, 'expired_token', 'AADSTS70019: Verification code expired.');
      if (!pending.objectId) return oauthError(400, 'authorization_pending', 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
      pendings.delete(form.device_code!);
      const resourceScope = pending.scopes.find((scope) => scope.endsWith('/.default')) ?? '';
      const { objectId: oid, tenant, clientId } = pending as typeof pending & { objectId: string };
      return {
        status: 200,
        body: {
          token_type: 'Bearer',
          scope: resourceScope,
          expires_in: 3599,
          ext_expires_in: 3599,
          // A v1 token, as Microsoft Graph's are: issued to the public client for the resource.
          access_token: mint({ aud: resourceScope.slice(0, -'/.default'.length), iss: `https://sts.windows.net/${tenant}/`, appid: clientId, oid, tid: tenant, scp: 'Application.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All', ver: '1.0', azp: undefined, azpacr: undefined }),
          id_token: mint({ aud: clientId, iss: issuerOf(tenant), oid, tid: tenant, scp: undefined, azp: undefined, azpacr: undefined }),
          refresh_token: randomBytes(32).toString('base64url'),
          client_info: Buffer.from(JSON.stringify({ uid: oid, utid: tenant })).toString('base64url'),
        },
      };
    },
    approve(userCode, user = {}) {
      const pending = [...pendings.values()].find((candidate) => candidate.userCode === userCode);
      if (!pending) return false;
      pending.objectId = user.objectId ?? randomUUID();
      return true;
    },
  };
}
