// Fails when src/generated/api-types.ts or the client's schema is not what openapi-typescript
// makes of openapi.yaml today: run `npm run generate:types` and commit the result.
import { readFileSync } from 'node:fs';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { projectFile } from '../src/projectFiles.js';

const generated = COMMENT_HEADER + astToString(await openapiTS(new URL(`file://${projectFile('openapi.yaml')}`)));
// The server's types and the client package's: both must be what openapi.yaml gives today.
for (const file of ['src/generated/api-types.ts', 'clients/typescript/src/schema.ts']) {
  if (readFileSync(projectFile(file), 'utf8') !== generated) {
    process.stderr.write(`${file} is stale: run \`npm run generate:types\` and commit it.\n`);
    process.exit(1);
  }
  process.stdout.write(`${file} matches openapi.yaml.\n`);
}
