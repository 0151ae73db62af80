// Fails when src/generated/api-types.ts is not what openapi-typescript makes of openapi.yaml
// today: run `npm run generate:types` and commit the result.
import { readFileSync } from 'node:fs';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { projectFile } from '../src/projectFiles.js';

const generated = COMMENT_HEADER + astToString(await openapiTS(new URL(`file://${projectFile('openapi.yaml')}`)));
const committed = readFileSync(projectFile('src/generated/api-types.ts'), 'utf8');
if (generated !== committed) {
  process.stderr.write('src/generated/api-types.ts is stale: run `npm run generate:types` and commit it.\n');
  process.exit(1);
}
process.stdout.write('src/generated/api-types.ts matches openapi.yaml.\n');
