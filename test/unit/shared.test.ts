// The small shared rules: which hosts are loopback (http:// is allowed only to them), GUIDs as
// settings and tokens write them, comma-separated lists.
import t from 'tap';
import { splitList } from '../../src/shared/commaList.js';
import { GUID, GUID_PATTERN, LOWER_CASE_GUID } from '../../src/shared/guid.js';
import { isHttpsOrLoopbackHttp, isLoopbackHost } from '../../src/shared/urlRules.js';

t.test('loopback hosts: localhost, 127.0.0.0/8 and ::1, nothing that only looks like them', async (t) => {
  for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '[::1]']) t.ok(isLoopbackHost(host), host);
  for (const host of ['127.0.0.1.evil.example', 'localhost.example.com', '10.0.0.1', '0.0.0.0', '128.0.0.1', '127.0.0', '::ffff:127.0.0.1', 'example.com', '']) {
    t.notOk(isLoopbackHost(host), host || '(empty)');
  }
});

t.test('https anywhere, http on loopback only, no other scheme', async (t) => {
  for (const url of ['https://login.example.com', 'https://10.0.0.1:8443/x', 'http://localhost:4000', 'http://127.0.0.1/', 'http://[::1]:8080/keys']) {
    t.ok(isHttpsOrLoopbackHttp(new URL(url)), url);
  }
  for (const url of ['http://login.example.com', 'http://10.0.0.1', 'http://127.0.0.1.nip.io', 'ftp://127.0.0.1', 'ws://localhost', 'file:///etc/passwd']) {
    t.notOk(isHttpsOrLoopbackHttp(new URL(url)), url);
  }
  t.ok(isHttpsOrLoopbackHttp(new URL('http://LOCALHOST:4000')), 'host names are compared as URL writes them (lower case)');
});

t.test('GUIDs: either case in settings and schemas, lower case in tokens, nothing else', async (t) => {
  const lower = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const upper = lower.toUpperCase();
  const pattern = new RegExp(GUID_PATTERN);
  for (const rule of [GUID, pattern]) {
    t.ok(rule.test(lower));
    t.ok(rule.test(upper));
    t.ok(rule.test('72F988bf-86f1-41AF-91ab-2d7cd011db47'), 'mixed case');
  }
  t.ok(LOWER_CASE_GUID.test(lower));
  t.notOk(LOWER_CASE_GUID.test(upper), 'a token\'s GUIDs are lower case');
  for (const value of [`{${lower}}`, lower.replaceAll('-', ''), `${lower}0`, ` ${lower}`, `${lower}\n`, lower.replace('7', 'g'), 'common']) {
    t.notOk(GUID.test(value), JSON.stringify(value));
    t.notOk(pattern.test(value), JSON.stringify(value));
    t.notOk(LOWER_CASE_GUID.test(value), JSON.stringify(value));
  }
});

t.test('comma-separated lists: entries trimmed, empty ones dropped', async (t) => {
  t.same(splitList(undefined), []);
  t.same(splitList(''), []);
  t.same(splitList(' , ,'), []);
  t.same(splitList('chat'), ['chat']);
  t.same(splitList(' chat ,voip,, voip.join '), ['chat', 'voip', 'voip.join']);
  t.same(splitList('a b,c'), ['a b', 'c'], 'only commas separate');
});
