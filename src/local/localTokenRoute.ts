// GET /local/token?user=alice[&tenant=fabrikam][&teams=true][&issuer=oidc]: a user token for
// local mode, minted by the Entra ID emulator (or, with issuer=oidc, by its generic OpenID
// Connect issuer, as if from Auth0 or Keycloak: subject = the user name). Registered only in
// local mode: a configured service has no such route. The same user name always gives the same
// user (a stable oid per tenant and name).
import fp from 'fastify-plugin';
import { nameToGuid, type EntraEmulator } from '../../emulators/entraEmulator.js';
import { HttpProblem } from '../http/httpProblem.js';
import { LOCAL_TENANTS } from './localMode.js';
import { LOWER_CASE_GUID as GUID } from '../shared/guid.js';

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

interface LocalTokenQuery {
  user?: string;
  tenant?: string;
  teams?: string;
  issuer?: string;
}

export default fp(async function localTokenRoute(app, { entra }: { entra: EntraEmulator }) {
  app.get<{ Querystring: LocalTokenQuery }>('/local/token', async (request, reply) => {
    const { user, tenant = 'contoso', teams, issuer = 'entra' } = request.query;
    if (typeof user !== 'string' || !USER_NAME.test(user)) {
      throw new HttpProblem(400, 'invalid_request', 'The user name must be 1 to 64 of A-Z a-z 0-9 . _ @ - (e.g. alice).', {
        errors: [{ in: 'query', name: 'user', reason: 'is required: 1 to 64 of A-Z a-z 0-9 . _ @ -' }],
      });
    }
    if (issuer !== 'entra' && issuer !== 'oidc') {
      throw new HttpProblem(400, 'invalid_request', 'Unknown issuer: use entra (the default) or oidc.', {
        errors: [{ in: 'query', name: 'issuer', reason: 'is not entra or oidc' }],
      });
    }
    if (issuer === 'oidc') {
      if (teams === 'true') {
        throw new HttpProblem(400, 'invalid_request', 'Teams users are Entra ID users: teams=true goes with issuer=entra.', {
          errors: [{ in: 'query', name: 'teams', reason: 'only with issuer=entra' }],
        });
      }
      const lifetimeSeconds = 3600;
      return reply.header('cache-control', 'no-store').send({
        token: entra.oidc.mintToken({ subject: user, lifetimeSeconds, claims: { name: user } }),
        tokenType: 'bearer',
        user,
        tenantId: entra.oidc.issuer,
        objectId: user,
        expiresOn: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(),
      });
    }
    const tenantId = LOCAL_TENANTS[String(tenant).toLowerCase()] ?? (GUID.test(String(tenant)) ? String(tenant) : undefined);
    if (!tenantId) {
      throw new HttpProblem(400, 'invalid_request', `Unknown tenant ${String(tenant)}: use ${Object.keys(LOCAL_TENANTS).join(' or ')}, or a tenant GUID.`, {
        errors: [{ in: 'query', name: 'tenant', reason: 'is not a local tenant or a GUID' }],
      });
    }
    const objectId = nameToGuid(tenantId, user);
    const lifetimeSeconds = 3600;
    const token = teams === 'true'
      ? entra.mintTeamsToken({ tenantId, objectId, lifetimeSeconds })
      : entra.mintAccessToken({ tenantId, objectId, lifetimeSeconds, claims: { name: user, preferred_username: `${user}@${String(tenant)}.local` } });
    return reply.header('cache-control', 'no-store').send({
      token,
      tokenType: teams === 'true' ? 'teams' : 'bearer',
      user,
      tenantId,
      objectId,
      expiresOn: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(),
    });
  });
}, { name: 'local-token-route' });
