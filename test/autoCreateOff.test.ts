// With ACS_AUTO_CREATE_IDENTITY=false, getToken answers 404 until the client creates the user.
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_AUTO_CREATE_IDENTITY: 'false' });

t.test('getToken is 404 without an identity, 200 after POST /api/user', async (t) => {
  const token = svc.userToken();
  const before = await svc.request({ url: '/api/token', token });
  t.equal(before.statusCode, 404);
  t.equal(before.json.code, 'identity_not_found');
  t.equal(svc.acs.counters.identitiesCreated, 0, 'nothing was created');

  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  t.equal(created.statusCode, 201);
  const after = await svc.request({ url: '/api/token', token });
  t.equal(after.statusCode, 200);
  t.equal(after.json.user.communicationUserId, created.json.acsUserIdentity);
});
