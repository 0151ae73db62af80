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
