// The image's command (the Dockerfile's CMD, in its JSON form): what a deployment that names the
// server's arguments itself must repeat, or it starts the server without what the image runs first.
import { readFileSync } from 'node:fs';
import { projectFile } from '../../src/projectFiles.js';

export function imageCommand(): string[] {
  const command = /^CMD (\[.*\])\s*$/m.exec(readFileSync(projectFile('Dockerfile'), 'utf8'))?.[1];
  if (!command) throw new Error('the Dockerfile has no CMD in JSON form');
  return JSON.parse(command) as string[];
}
