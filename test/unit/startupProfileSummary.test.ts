// The start-up profile's summary (scripts/startupProfileSummary.ts) on a profile made by hand:
// a module's load time includes what its top-level code ran and required, idle time and samples
// after the window do not count, and packages are named as npm names them.
import t from 'tap';
import { median, moduleLoadTimes, packageName, type CpuProfile } from '../../scripts/startupProfileSummary.js';

const frame = (functionName: string, url: string, lineNumber = 0, columnNumber = 0) => ({ functionName, url, lineNumber, columnNumber });
const A = 'file:///app/node_modules/pkg-a/index.js';
const B = 'file:///app/node_modules/pkg-a/node_modules/@scope/b/lib/b.js';
const SERVER = 'file:///app/dist/src/server.js';
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 6, 7] },
    { id: 2, callFrame: frame('(idle)', '') },
    { id: 3, callFrame: frame('', A), children: [4] },
    { id: 4, callFrame: frame('', B), children: [5] },
    { id: 5, callFrame: frame('work', B, 10, 2) },
    { id: 6, callFrame: frame('', SERVER), children: [8] },
    { id: 7, callFrame: frame('(garbage collector)', '') },
    { id: 8, callFrame: frame('listen', 'node:net', 5, 0) },
  ],
  // 1 ms each; the last one falls after the window.
  samples: [5, 5, 3, 2, 8, 7, 5],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
  startTime: 0,
};

t.test('load times by module and package, within the window, idle excluded', async (t) => {
  const times = moduleLoadTimes(profile, 6);
  t.equal(times.busyMs, 5, 'six samples in the window, one idle');
  t.equal(times.loadingMs, 4, 'all but the garbage collector\'s are under a module\'s top level');
  t.same(times.byModule, [['pkg-a/index.js', 3], ['@scope/b/lib/b.js', 2], ['dist/src/server.js', 1]]);
  t.same(times.byPackage, [['pkg-a', 3], ['@scope/b', 2], ['service', 1]], 'a sample counts once per package');
  t.same(Object.fromEntries(times.selfByPackage), { '@scope/b': 2, 'pkg-a': 1, node: 1, '(garbage collector)': 1 });
});

t.test('package names', async (t) => {
  t.equal(packageName('node:internal/modules/esm/loader'), 'node');
  t.equal(packageName('file:///app/node_modules/@azure/msal-node/dist/index.mjs'), '@azure/msal-node');
  t.equal(packageName('file:///app/dist/src/app.js'), 'service');
  t.equal(median([5, 1, 3]), 3);
  t.equal(median([4, 1, 3, 2]), 2, 'the lower middle value of an even count');
});
