// .env.example's local-mode rule names the settings that turn local mode off: exactly those the
// service checks, so that a reader who sets none of them gets local mode, and one who sets any
// of them does not.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { AZURE_SETTINGS } from '../../src/config/localModeSwitch.js';
import { projectFile } from '../../src/projectFiles.js';

t.test('.env.example\'s local-mode rule names exactly the settings that turn local mode off', async (t) => {
  const example = readFileSync(projectFile('.env.example'), 'utf8');
  // The comment block's text, without its leading "# ", as one line.
  const comments = example.split('\n').filter((line) => line.startsWith('#')).map((line) => line.replace(/^# ?/, '')).join(' ');
  const rule = /LOCAL MODE: with none of (.+?) set\b/.exec(comments)?.[1];
  t.ok(rule, 'the rule is there');
  const named = [...(rule ?? '').matchAll(/\b[A-Z][A-Z0-9_]+\b/g)].map(([name]) => name);
  t.same([...named].sort(), [...AZURE_SETTINGS].sort(), `named: ${named.join(', ')}`);
});
