// The README and docs/ link to each other and into the repository: every relative link must
// name a file that exists and, with a #fragment, a heading of that file (GitHub's anchors), so
// that moving a section or a file cannot leave a reader at a dead link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT, projectFile } from '../src/projectFiles.js';

const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', ...readdirSync(projectFile('docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text outside fenced code blocks, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2… */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

/** The targets of inline links `[text](target)`, without those to other sites. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z][a-z+.-]*:/i.test(target));
}

t.test('every relative link of the README and docs/ resolves to a file and heading', async (t) => {
  let checked = 0;
  for (const document of DOCUMENTS) {
    const text = readFileSync(projectFile(document), 'utf8');
    for (const link of relativeLinks(text)) {
      const [path, fragment] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? projectFile(document) : join(dirname(projectFile(document)), decodeURIComponent(path));
      const where = `${document}: ${link}`;
      checked++;
      if (!t.ok(existsSync(target), `${where}: ${relative(PROJECT_ROOT, target)} exists`)) continue;
      if (fragment === undefined) continue;
      t.ok(statSync(target).isFile() && target.endsWith('.md'), `${where}: an anchor into a Markdown file`);
      t.ok(anchorsOf(readFileSync(target, 'utf8')).has(fragment), `${where}: #${fragment} is a heading there`);
    }
  }
  t.ok(checked >= 50, `${checked} links checked`);
});

t.test('the anchors are GitHub\'s', async (t) => {
  const anchors = anchorsOf('# A first `GET /api/token`\n## Local mode\'s loopback rules\n## 2026-11-27, another machine: latency to 0.01 ms\n## Local mode\n## Local mode\n```\n# not a heading\n```\n');
  t.same([...anchors], ['a-first-get-apitoken', 'local-modes-loopback-rules', '2026-11-27-another-machine-latency-to-001-ms', 'local-mode', 'local-mode-1']);
  t.same(relativeLinks('[a](docs/a.md#x) [b](https://example.com) [c](#y)\n```\n[d](nowhere.md)\n```\n'), ['docs/a.md#x', '#y']);
});

/** The `code` → status rows of openapi.yaml's problem-code table. */
function openApiProblemCodes(): Map<string, number> {
  const description = readFileSync(projectFile('openapi.yaml'), 'utf8');
  return new Map([...description.matchAll(/^ *\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [code!, Number(status)]));
}

/** The codes the source can answer with: each HttpProblem's literal code and the code tables' entries. */
function sourceProblemCodes(): Set<string> {
  const codes = new Set<string>();
  const sources = readdirSync(projectFile('src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.startsWith('generated'));
  for (const file of sources) {
    const text = readFileSync(projectFile(`src/${file}`), 'utf8');
    // The second argument of `new HttpProblem(status, code, …)`: a literal, or a choice of literals.
    for (const [, argument] of text.matchAll(/new HttpProblem\(\s*[^,]+,\s*([^,]+),/g)) {
      for (const [, code] of argument!.matchAll(/'([a-z_]+)'/g)) codes.add(code!);
    }
    for (const [, code] of text.matchAll(/\bcode: '([a-z_]+)'/g)) codes.add(code!);
  }
  return codes;
}

t.test('every problem code has its troubleshooting entry, linked from the table there', async (t) => {
  const troubleshooting = readFileSync(projectFile('docs/troubleshooting.md'), 'utf8');
  const anchors = anchorsOf(troubleshooting);
  const table = new Map([...prose(troubleshooting).matchAll(/^\| \[`([a-z_]+)`\]\(#([a-z_]+)\) \| (\d{3}) \|/gm)]
    .map(([, code, target, status]) => [code!, { target: target!, status: Number(status) }]));
  const documented = openApiProblemCodes();
  const emitted = sourceProblemCodes();
  t.ok(documented.size >= 30, `${documented.size} codes in openapi.yaml's table`);
  t.ok(emitted.size >= 30, `${emitted.size} codes found in src/`);
  for (const code of emitted) t.ok(documented.has(code), `${code}, answered by src/, is in openapi.yaml's table`);
  for (const [code, status] of documented) {
    t.ok(anchors.has(code), `${code}: an entry (#${code}) in docs/troubleshooting.md`);
    t.same(table.get(code), { target: code, status }, `${code}: the table links it to its entry, with openapi.yaml's status`);
  }
  t.same([...table.keys()].filter((code) => !documented.has(code)), [], 'no code in the troubleshooting table that openapi.yaml lacks');
});
