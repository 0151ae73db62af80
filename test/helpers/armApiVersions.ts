// The API versions an installed `@azure/arm-*` package sends for one resource type: every
// operation on that type's own path (…/providers/<Namespace>/<type>/{name}[/<child>/{name}]) in
// the package's built JavaScript, with the api-version it sends. Three ways the generators write
// it: TypeSpec clients (`context.apiVersion ?? "…"` after the URL template), AutoRest clients
// (an operation spec whose `queryParameters` names a parameter object with `defaultValue: "…"`),
// and single-file bundles of the latter.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectFile } from '../../src/projectFiles.js';

function javascriptFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return javascriptFiles(path);
    return name.endsWith('.js') && !name.endsWith('.min.js') ? [path] : [];
  });
}

/** The package's CommonJS build if it has one, else its dist folder (one bundle). */
function builtFiles(packageName: string): string[] {
  const dist = projectFile('node_modules', ...packageName.split('/'), 'dist');
  const commonjs = join(dist, 'commonjs');
  return javascriptFiles(existsSync(commonjs) ? commonjs : dist);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The path of one resource of `type`, e.g. Microsoft.App/jobs → providers/Microsoft.App/jobs/{…}. */
function resourcePath(type: string): RegExp {
  const [namespace, ...segments] = type.split('/');
  const tail = segments.map((segment) => `/${escape(segment)}/\\{[^}/]+\\}`).join('');
  // The path ends there: a closing quote, or the query part of a URL template.
  return new RegExp(`providers/${escape(namespace!)}${tail}(?="|\\{\\?)`, 'gi');
}

/** The default value of the api-version parameter object `name` (e.g. apiVersion, apiVersion1). */
function parameterDefault(sources: string[], name: string): string | undefined {
  const declaration = new RegExp(`(?:const|var|let|exports\\.)\\s*${escape(name)}\\s*=\\s*\\{[\\s\\S]{0,400}?defaultValue:\\s*["']([^"']+)["']`);
  for (const source of sources) {
    const match = declaration.exec(source);
    if (match) return match[1];
  }
  return undefined;
}

/** Every api-version that the package sends to `type`'s own path (empty: no such operation). */
export function packageApiVersions(packageName: string, type: string): Set<string> {
  const sources = builtFiles(packageName).map((file) => readFileSync(file, 'utf8'));
  const versions = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(resourcePath(type))) {
      const after = source.slice(match.index, match.index + 1500);
      const typeSpec = /apiVersion \?\? "([^"]+)"/.exec(after);
      const spec = /queryParameters:\s*\[\s*(?:Parameters\.)?(apiVersion\d*)\s*\]/.exec(after);
      // Whichever comes first belongs to this operation.
      if (typeSpec && (!spec || typeSpec.index < spec.index)) versions.add(typeSpec[1]!);
      else if (spec) {
        const version = parameterDefault(sources, spec[1]!);
        if (version) versions.add(version);
      }
    }
  }
  return versions;
}

/** The exact version of an installed package. */
export function installedVersion(packageName: string): string {
  return (JSON.parse(readFileSync(projectFile('node_modules', ...packageName.split('/'), 'package.json'), 'utf8')) as { version: string }).version;
}
