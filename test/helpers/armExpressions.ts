// ARM template expressions ("[format('…', parameters('x'))]"), evaluated offline: the functions
// deploy/azure/azuredeploy.json uses, with Azure's answers (reference(), listKeys()) stood in for
// by plausible values, so that a test can read what the template would hand the container.
// A function it does not know is an error, not a guess.
import { createHash } from 'node:crypto';

export interface ArmTemplate {
  parameters?: Record<string, { type: string; defaultValue?: unknown; [key: string]: unknown }>;
  variables?: Record<string, unknown>;
  resources: Array<Record<string, unknown>>;
  outputs?: Record<string, { type: string; value: unknown }>;
}

/** A stand-in for what Azure answers about a deployed resource. */
export type Lookup = (resourceId: string, apiVersion: string, kind: 'reference' | 'listKeys') => Record<string, unknown>;

type Token = { kind: 'string' | 'number' | 'name' | 'punct'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") { value += "'"; i += 2; continue; }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'string', text: value });
    } else if (/[0-9-]/.test(c)) {
      const match = /^-?[0-9]+/.exec(text.slice(i))!;
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'name', text: match[0] });
      i += match[0].length;
    } else if ('(),.[]'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else throw new Error(`unexpected "${c}" in ${text}`);
  }
  return tokens;
}

type Node =
  | { kind: 'literal'; value: unknown }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'member'; target: Node; key: Node };

function parse(text: string): Node {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const expect = (text: string) => {
    const token = tokens[position++];
    if (token?.text !== text) throw new Error(`expected "${text}" in ${text}`);
  };
  function primary(): Node {
    const token = tokens[position++];
    if (!token) throw new Error('unexpected end of expression');
    if (token.kind === 'string') return { kind: 'literal', value: token.text };
    if (token.kind === 'number') return { kind: 'literal', value: Number(token.text) };
    if (token.kind !== 'name') throw new Error(`unexpected "${token.text}"`);
    expect('(');
    const args: Node[] = [];
    if (peek()?.text !== ')') {
      for (;;) {
        args.push(expression());
        if (peek()?.text === ',') { position++; continue; }
        break;
      }
    }
    expect(')');
    return { kind: 'call', name: token.text, args };
  }
  function expression(): Node {
    let node = primary();
    for (;;) {
      if (peek()?.text === '.') {
        position++;
        const name = tokens[position++]!;
        node = { kind: 'member', target: node, key: { kind: 'literal', value: name.text } };
      } else if (peek()?.text === '[') {
        position++;
        const key = expression();
        expect(']');
        node = { kind: 'member', target: node, key };
      } else return node;
    }
  }
  const node = expression();
  if (position !== tokens.length) throw new Error(`trailing tokens in ${text}`);
  return node;
}

/** A GUID made from its inputs, as ARM's guid() is. */
export function stableGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class TemplateEvaluator {
  private readonly variableCache = new Map<string, unknown>();

  constructor(
    private readonly template: ArmTemplate,
    private readonly parameterValues: Record<string, unknown>,
    private readonly lookup: Lookup,
  ) {}

  parameter(name: string): unknown {
    if (name in this.parameterValues) return this.parameterValues[name];
    const declared = this.template.parameters?.[name];
    if (!declared) throw new Error(`parameters('${name}') is not declared`);
    if (!('defaultValue' in declared)) throw new Error(`parameter ${name} has no value and no default`);
    return this.evaluate(declared.defaultValue);
  }

  variable(name: string): unknown {
    if (!this.variableCache.has(name)) {
      if (!this.template.variables || !(name in this.template.variables)) throw new Error(`variables('${name}') is not declared`);
      this.variableCache.set(name, this.evaluate(this.template.variables[name]));
    }
    return this.variableCache.get(name);
  }

  /** Any value of the template: expressions evaluated, in keys too. */
  evaluate(value: unknown): unknown {
    if (typeof value === 'string') {
      if (value.startsWith('[[')) return value.slice(1);
      if (value.startsWith('[') && value.endsWith(']')) return this.run(parse(value.slice(1, -1)));
      return value;
    }
    if (Array.isArray(value)) return value.map((item) => this.evaluate(item));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.evaluate(key) as string, this.evaluate(item)]));
    }
    return value;
  }

  private run(node: Node): unknown {
    if (node.kind === 'literal') return node.value;
    if (node.kind === 'member') {
      const target = this.run(node.target) as Record<string, unknown> | undefined;
      const key = this.run(node.key) as string;
      if (target === undefined || target === null || !(key in target)) throw new Error(`no property ${key}`);
      return target[key];
    }
    // if() evaluates only the branch it takes, as ARM does.
    if (node.name === 'if') return this.run(node.args[0]!) ? this.run(node.args[1]!) : this.run(node.args[2]!);
    const args = node.args.map((arg) => this.run(arg));
    const strings = args as string[];
    const rg = { id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/acs-rg', name: 'acs-rg', location: 'westeurope' };
    switch (node.name) {
      case 'parameters': return this.parameter(strings[0]!);
      case 'variables': return this.variable(strings[0]!);
      case 'format': return strings[0]!.replace(/\{(\d+)\}/g, (_, index: string) => String(args[Number(index) + 1]));
      case 'concat': return Array.isArray(args[0]) ? (args as unknown[][]).flat() : strings.join('');
      case 'createArray': return args;
      case 'createObject': {
        const object: Record<string, unknown> = {};
        for (let i = 0; i < args.length; i += 2) object[strings[i]!] = args[i + 1];
        return object;
      }
      case 'empty': return args[0] === '' || args[0] === null || (Array.isArray(args[0]) && args[0].length === 0);
      case 'not': return !args[0];
      case 'string': return String(args[0]);
      case 'uriComponent': return encodeURIComponent(strings[0]!);
      case 'take': return strings[0]!.slice(0, Number(args[1]));
      case 'uniqueString': return createHash('sha256').update(strings.join('|')).digest('hex').slice(0, 13).replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!);
      case 'guid': return stableGuid(...strings);
      case 'resourceGroup': return rg;
      case 'subscription': return { id: '/subscriptions/00000000-0000-0000-0000-000000000001', subscriptionId: '00000000-0000-0000-0000-000000000001', tenantId: '11111111-1111-4111-a111-111111111111' };
      case 'environment': return {
        name: 'AzureCloud',
        authentication: { loginEndpoint: 'https://login.microsoftonline.com/' },
        suffixes: { acrLoginServer: '.azurecr.io', keyvaultDns: '.vault.azure.net', postgresqlServerEndpoint: '.postgres.database.azure.com' },
      };
      case 'resourceId': {
        const [type, ...names] = strings;
        const segments = type!.split('/');
        const path = [segments[0], ...segments.slice(1).flatMap((segment, i) => [segment, names[i]])].join('/');
        return `${rg.id}/providers/${path}`;
      }
      case 'subscriptionResourceId': return `/subscriptions/00000000-0000-0000-0000-000000000001/providers/${strings[0]}/${strings[1]}`;
      case 'extensionResourceId': return `${strings[0]}/providers/${strings[1]}/${strings[2]}`;
      case 'reference': return this.lookup(strings[0]!, strings[1]!, 'reference');
      case 'listKeys': return this.lookup(strings[0]!, strings[1]!, 'listKeys');
      default: throw new Error(`the test does not know the template function ${node.name}()`);
    }
  }
}

/** The resource type named by a resource id made by resourceId() above. */
export function typeOfResourceId(resourceId: string): string {
  const [, path] = resourceId.split('/providers/');
  const segments = path!.split('/');
  return [segments[0], ...segments.slice(1).filter((_, i) => i % 2 === 0)].join('/');
}
