// The emulators stand apart from the service: no file of emulators/ imports anything outside
// that folder but packages. An emulator that imported the service's constants (its scopes, its
// URL rules) would agree with the service's mistakes instead of catching them.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { projectFile } from '../src/projectFiles.js';

const folder = projectFile('emulators');

/** Every module specifier of a file: static imports and exports, `import()` and `require()`. */
function specifiers(path: string): string[] {
  return ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map((file) => file.fileName);
}

const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));

t.ok(files.includes('acsEmulator.ts') && files.includes('entraEmulator.ts'), `the emulators are read: ${files.join(', ')}`);

t.test('emulators/ imports nothing of the service', async (t) => {
  const outside: string[] = [];
  for (const name of files) {
    const path = join(folder, name);
    for (const specifier of specifiers(path)) {
      const relativeImport = specifier.startsWith('.') || specifier.startsWith('/');
      if (relativeImport && relative(folder, resolve(dirname(path), specifier)).startsWith('..')) outside.push(`${name} imports ${specifier}`);
    }
  }
  t.same(outside, [], 'only files of emulators/ and packages');
});

t.test('the check sees what it must refuse', async (t) => {
  const found = ts.preProcessFile(`import { x } from '../src/a.js';\nexport * from '../src/b.js';\nconst c = await import('../src/c.js');`, true, true);
  t.same(found.importedFiles.map((file) => file.fileName), ['../src/a.js', '../src/b.js', '../src/c.js']);
});
