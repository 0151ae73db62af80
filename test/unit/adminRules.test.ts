// The admin API's pure rules: who an admin caller is (and every refusal), and the page cursor.
import t from 'tap';
import { adminCallerOf, type AdminRules } from '../../src/admin/adminAuth.js';
import { decodeCursor, encodeCursor } from '../../src/admin/adminLookups.js';
import { AuthError } from '../../src/auth/authError.js';
import { HttpProblem } from '../../src/http/httpProblem.js';

const HOME = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP = '1f9b6c2d-8e4a-4b3c-a5d6-7e8f9a0b1c2d';
const SP = '0c9f8e7d-6b5a-4f3e-9d2c-1b0a9f8e7d6c';
const rules = { tenantId: HOME, role: 'Identities.Admin' };
const appOnly = { tid: HOME, azp: APP, oid: SP, sub: SP, roles: ['Identities.Admin'] };

/** The status and code (or 401 description) a payload is refused with. */
function refusal(payload: Record<string, unknown>, fromEntra = true, given: AdminRules = rules): string {
  try {
    adminCallerOf(payload, fromEntra, given);
  } catch (error) {
    if (error instanceof HttpProblem) return `${error.status} ${error.code}`;
    if (error instanceof AuthError) return `${error.status}`;
    throw error;
  }
  return 'accepted';
}

t.test('an application of the home tenant with the role: its client id, from azp or appid', async (t) => {
  t.same(adminCallerOf(appOnly, true, rules), { kind: 'admin', tenantId: HOME, appId: APP, userKey: `admin:${HOME}/${APP}` });
  const v1 = { ...appOnly, azp: undefined, appid: APP, idtyp: 'app' };
  t.equal(adminCallerOf(v1, true, rules).appId, APP);
});

t.test('every refusal', async (t) => {
  t.equal(refusal(appOnly, false), '401', 'another issuer');
  t.equal(refusal({ ...appOnly, tid: 'a4c2e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e8f' }), '401', 'another tenant');
  t.equal(refusal(appOnly, true, { ...rules, tenantId: undefined }), '401', 'no home tenant configured');
  t.equal(refusal({ ...appOnly, scp: 'access_as_user' }), '403 admin_app_token_required', 'delegated (scp)');
  t.equal(refusal({ ...appOnly, sub: 'pairwise-subject' }), '403 admin_app_token_required', 'roles without scp, but a user\'s sub');
  t.equal(refusal({ ...appOnly, roles: ['Other'] }), '403 admin_role_required');
  t.equal(refusal({ ...appOnly, roles: 'Identities.Admin' }), '403 admin_role_required', 'roles must be an array');
  t.equal(refusal({ ...appOnly, azp: 'not-a-guid' }), '401', 'no client id');
});

t.test('cursors: round trip, and anything else refused', async (t) => {
  t.equal(decodeCursor(encodeCursor(SP)), SP);
  // Only an Entra object id (a GUID) is ever a page's last key: anything else is refused.
  t.equal(decodeCursor(encodeCursor('a/b:c')), undefined);
  t.equal(decodeCursor(Buffer.from('o:\u0000').toString('base64url')), undefined);
  for (const bad of ['', 'x', Buffer.from('o:').toString('base64url'), Buffer.from('p:abc').toString('base64url'), `${encodeCursor(SP)}=`, 'a+b']) {
    t.equal(decodeCursor(bad), undefined, JSON.stringify(bad));
  }
});
