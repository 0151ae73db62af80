// What a V8 CPU profile of a start says about loading modules: the CPU time under each module's
// top-level code (V8 shows it as an anonymous function at line 0, column 0 of the module's URL,
// for ES modules and CommonJS wrappers alike), by module and by package.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

export interface ModuleLoadTimes {
  /** CPU time (ms) in the window, idle excluded. */
  busyMs: number;
  /** The part of it under some module's top-level code. */
  loadingMs: number;
  /** [module, ms], most first; a module's time includes the modules it required. */
  byModule: [string, number][];
  /** [package, ms], most first; each sample counts once per package on its stack. */
  byPackage: [string, number][];
  /** [package or V8's own (program, garbage collector), ms]: where the CPU was, self time. */
  selfByPackage: [string, number][];
}

/** The middle value (the lower of the two middle ones for an even count). */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** A module's URL as a short name: from its package (after the last node_modules/), or from dist/. */
export function moduleName(url: string): string {
  const inPackage = url.lastIndexOf('/node_modules/');
  if (inPackage >= 0) return url.slice(inPackage + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0 && url.startsWith('file:')) return url.slice(dist + 1);
  return url;
}

/** The package a module belongs to: its npm name, `service` for the project's own, `node` for Node.js's. */
export function packageName(url: string): string {
  if (url.startsWith('node:')) return 'node';
  const name = moduleName(url);
  if (name === url) return url.startsWith('file:') ? 'service' : name;
  if (name.startsWith('dist/')) return 'service';
  const parts = name.split('/');
  return parts.slice(0, name.startsWith('@') ? 2 : 1).join('/');
}

/** Load times over the profile's first `windowMs` (until the service was ready). */
export function moduleLoadTimes(profile: CpuProfile, windowMs: number): ModuleLoadTimes {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const isTopLevel = (id: number) => {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    return functionName === '' && url !== '' && lineNumber === 0 && columnNumber === 0;
  };

  const modules = new Map<string, number>();
  const packages = new Map<string, number>();
  const self = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let busyMs = 0;
  let loadingMs = 0;
  let elapsed = 0;
  profile.samples.forEach((leaf, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    elapsed += ms;
    if (elapsed > windowMs || byId.get(leaf)?.callFrame.functionName === '(idle)') return;
    busyMs += ms;
    const { functionName, url } = byId.get(leaf)!.callFrame;
    add(self, url === '' ? functionName : packageName(url), ms);
    const onStack = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parentOf.get(id)) {
      if (isTopLevel(id)) onStack.add(byId.get(id)!.callFrame.url);
    }
    if (onStack.size > 0) loadingMs += ms;
    for (const url of onStack) add(modules, moduleName(url), ms);
    for (const name of new Set([...onStack].map(packageName))) add(packages, name, ms);
  });
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { busyMs, loadingMs, byModule: sorted(modules), byPackage: sorted(packages), selfByPackage: sorted(self) };
}
