// deploy/azure/azuredeploy.json, checked offline (nothing here deploys it): every reference
// resolves and every parameter and variable is used; secrets come only from secure parameters,
// reach Key Vault and nothing else, and the container reads them by reference; the template is
// evaluated with plausible values and what it gives the container app is handed to the real
// loadConfig as production; the migration job runs the image's migration command as the
// database's Entra administrator; probes are the contract's; every resource type and API
// version is the one of deploy/azure/apiVersions.json, which the pinned @azure/arm-* packages confirm.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config/index.js';
import { SECRET_FILE_VARIABLES } from '../src/config/secretFiles.js';
import { ROLE_NAME_PATTERN } from '../src/db/serviceRole.js';
import { imageCommand } from './helpers/imageCommand.js';
import { projectFile } from '../src/projectFiles.js';
import { GUID_PATTERN } from '../src/shared/guid.js';
import { stableGuid, TemplateEvaluator, typeOfResourceId, type ArmTemplate } from './helpers/armExpressions.js';
import { installedVersion, packageApiVersions } from './helpers/armApiVersions.js';
import { TELEMETRY_VARIABLES } from './helpers/telemetryVariables.js';

// Resources as parsed JSON: each is checked field by field below.
type Template = Omit<ArmTemplate, 'resources'> & { resources: any[] };
const template = JSON.parse(readFileSync(projectFile('deploy', 'azure', 'azuredeploy.json'), 'utf8')) as Template;
const apiVersionList = JSON.parse(readFileSync(projectFile('deploy', 'azure', 'apiVersions.json'), 'utf8')) as {
  types: Record<string, { apiVersion: string; package?: string; exempt?: string }>;
};
const contract = parse(readFileSync(projectFile('openapi.yaml'), 'utf8')) as { paths: Record<string, unknown> };
const packageJson = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { devDependencies: Record<string, string> };

const NESTED = 'Microsoft.Resources/deployments';

/** The template and each nested template of its own scope (expressionEvaluationOptions inner). */
function scopes(outer: Template): Array<{ name: string; template: Template }> {
  const copy = structuredClone(outer);
  const inner: Array<{ name: string; template: Template }> = [];
  for (const resource of copy.resources) {
    if (resource.type === NESTED) {
      inner.push({ name: `nested deployment ${resource.name}`, template: resource.properties.template });
      delete resource.properties.template;
    }
  }
  return [{ name: 'template', template: copy }, ...inner];
}

function allResources(outer: Template): any[] {
  return outer.resources.flatMap((resource) => [resource, ...(resource.type === NESTED ? allResources(resource.properties.template) : [])]);
}

t.test('every parameters() and variables() resolves, and every parameter and variable is used', async (t) => {
  const nested = template.resources.filter((resource) => resource.type === NESTED);
  for (const resource of nested) t.equal(resource.properties.expressionEvaluationOptions?.scope, 'inner', `${resource.name}: its template has its own parameters`);
  for (const { name, template: scope } of scopes(template)) {
    const references = (kind: 'parameters' | 'variables', value: unknown) =>
      [...JSON.stringify(value).matchAll(new RegExp(`${kind}\\('([^']*)'\\)`, 'g'))].map((match) => match[1]!);
    const variables = scope.variables ?? {};
    const parameters = scope.parameters ?? {};
    // Used: reached from the resources or the outputs, through the variables they use.
    const roots = [scope.resources, scope.outputs ?? {}];
    const usedVariables = new Set(roots.flatMap((root) => references('variables', root)));
    for (const variable of usedVariables) {
      t.ok(variable in variables, `${name}: variables('${variable}') is declared`);
      for (const next of references('variables', variables[variable] ?? null)) usedVariables.add(next);
    }
    const usedParameters = new Set([...roots, ...[...usedVariables].map((variable) => variables[variable] ?? null)].flatMap((value) => references('parameters', value)));
    for (const parameter of usedParameters) t.ok(parameter in parameters, `${name}: parameters('${parameter}') is declared`);
    for (const variable of Object.keys(variables)) t.ok(usedVariables.has(variable), `${name}: variable ${variable} is used`);
    for (const parameter of Object.keys(parameters)) t.ok(usedParameters.has(parameter), `${name}: parameter ${parameter} is used`);
    // ARM evaluates variables and names before any resource exists: no reference() or list*() there.
    t.notMatch(JSON.stringify(variables), /\b(reference|list\w*)\(/, `${name}: no reference() or list*() in a variable`);
    for (const resource of scope.resources) t.notMatch(resource.name, /\b(reference|list\w*)\(/, `${name}: ${resource.type} is named without reference()`);
    // Every reference anywhere, even in an unused variable, resolves.
    for (const kind of ['parameters', 'variables'] as const) {
      for (const reference of references(kind, scope)) t.ok(reference in (scope[kind] ?? {}), `${name}: ${kind}('${reference}') resolves`);
    }
  }
});

// Plausible values for what the deployer types in, and Azure's answers about what it created.
const SECRETS = { auditHashKey: 'a'.repeat(16) + 'audit-key-of-the-test', metricsToken: 'm'.repeat(16) + 'metrics-token-of-the-test' };
const BASE_PARAMETERS = { registryName: 'contosotokens', image: 'acs-token-service:0.1.0', apiClientId: '22222222-2222-4222-a222-222222222222', ...SECRETS };

function evaluatorFor(parameters: Record<string, unknown>, mismatches: string[] = [], onLookup: (resourceId: string) => void = () => undefined): TemplateEvaluator {
  return new TemplateEvaluator(template, parameters, (resourceId, apiVersion, kind) => {
    onLookup(resourceId);
    const type = typeOfResourceId(resourceId);
    if (apiVersionList.types[type]?.apiVersion !== apiVersion) mismatches.push(`${kind}(${type}) with ${apiVersion}`);
    if (kind === 'listKeys') return { primaryKey: 'redis/key+with=signs', primarySharedKey: 'workspace-key' };
    const name = resourceId.split('/').at(-1)!;
    return {
      principalId: stableGuid(resourceId, 'principal'),
      clientId: stableGuid(resourceId, 'client'),
      hostName: type === 'Microsoft.Cache/redis' ? `${name}.redis.cache.windows.net` : `${name}.europe.communication.azure.com`,
      sslPort: 6380,
      customerId: stableGuid(resourceId, 'workspace'),
      ConnectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
      configuration: { ingress: { fqdn: `${name}.example.westeurope.azurecontainerapps.io` } },
    };
  });
}

// Secrets the operator stores in the vault (docs/deploy-azure.md), so that they never pass
// through a deployment's parameters; here, a value of the test's.
const OPERATOR_SECRETS = new Map([['azure-client-secret', 'client-secret-of-the-test']]);

const resourceOf = (type: string) => template.resources.filter((resource) => resource.type === type);

t.test('secure values: secure parameters with no default, in Key Vault and nowhere else', async (t) => {
  const secure = Object.entries(template.parameters ?? {}).filter(([, parameter]) => parameter.type.toLowerCase() === 'securestring');
  t.same(secure.map(([name]) => name).sort(), ['auditHashKey', 'metricsToken'], 'the secrets are secure parameters');
  for (const [name, parameter] of secure) t.notOk('defaultValue' in parameter, `${name}: no default, the deployer gives it`);
  for (const [name, parameter] of Object.entries(template.parameters ?? {})) {
    if (/secret|password|key$|token$/i.test(name)) t.equal(parameter.type.toLowerCase(), 'securestring', `${name} is a secure parameter`);
  }
  // Where a secure parameter's value goes: only into Key Vault secrets.
  for (const resource of allResources(template)) {
    for (const [name] of secure) {
      if (JSON.stringify(resource).includes(`parameters('${name}')`)) {
        t.equal(resource.type, 'Microsoft.KeyVault/vaults/secrets', `${name} goes to a Key Vault secret, not to ${resource.type}`);
      }
    }
  }
  t.notOk(JSON.stringify(template.outputs).match(/parameters\('(auditHashKey|metricsToken)'\)|listKeys/), 'no secret in an output');
  const guide = readFileSync(projectFile('docs/deploy-azure.md'), 'utf8');
  for (const name of OPERATOR_SECRETS.keys()) t.match(guide, new RegExp(`az keyvault secret set [^\\n]*--name ${name} `), `the docs tell the operator to store ${name}`);
});

// ARM orders resources by dependsOn only: a dependsOn naming no resource of the template fails
// the whole deployment before anything is made, and reference() of a resource by its id (not
// its bare name) adds no dependency, so it may be evaluated before that resource exists.
t.test('dependsOn: every entry is a resource of the template, and every resource read by reference() or listKeys() comes first', async (t) => {
  for (const parameters of [BASE_PARAMETERS, { ...BASE_PARAMETERS, enableRedis: true, teamsOnBehalfOf: true }]) {
    const evaluator = evaluatorFor(parameters);
    const idOf = (resource: any): string => {
      const type = resource.type as string;
      const name = evaluator.evaluate(resource.name) as string;
      if (resource.scope) return `${evaluator.evaluate(resource.scope) as string}/providers/${type}/${name}`;
      return evaluator.evaluate(`[resourceId(${[type, ...name.split('/')].map((part) => `'${part}'`).join(', ')})]`) as string;
    };
    const ids = new Map<string, any>(template.resources.map((resource) => [idOf(resource), resource]));
    const dependsOn = (resource: any) => (resource.dependsOn ?? []).map((entry: string) => evaluator.evaluate(entry) as string);
    for (const resource of template.resources) {
      for (const entry of dependsOn(resource)) t.ok(ids.has(entry), `${resource.type} ${evaluator.evaluate(resource.name) as string}: depends on ${entry}, a resource of the template`);
    }
    for (const resource of template.resources) {
      const before = new Set<string>();
      const visit = (id: string) => { if (!before.has(id) && ids.has(id)) { before.add(id); for (const next of dependsOn(ids.get(id))) visit(next); } };
      for (const entry of dependsOn(resource)) visit(entry);
      const looked = new Set<string>();
      const reading = evaluatorFor(parameters, [], (id) => looked.add(id));
      // A nested template's own expressions are evaluated in its own scope: only what is passed to it.
      reading.evaluate(resource.type === NESTED ? { ...resource, properties: { ...resource.properties, template: undefined } } : resource);
      for (const id of looked) {
        if (ids.has(id)) t.ok(before.has(id), `${resource.type} ${evaluator.evaluate(resource.name) as string} reads ${id} after it is made`);
      }
    }
  }
});

for (const variant of [
  { name: 'defaults', parameters: {} },
  { name: 'Redis and on-behalf-of', parameters: { enableRedis: true, teamsOnBehalfOf: true, corsOrigins: 'https://app.example.com', maxReplicas: 5 } },
]) {
  t.test(`${variant.name}: what the container app and the migration job are given`, async (t) => {
    const mismatches: string[] = [];
    const evaluator = evaluatorFor({ ...BASE_PARAMETERS, ...variant.parameters }, mismatches);
    const [app] = resourceOf('Microsoft.App/containerApps').map((resource) => evaluator.evaluate(resource) as any);
    const [job] = resourceOf('Microsoft.App/jobs').map((resource) => evaluator.evaluate(resource) as any);
    const secretResources = resourceOf('Microsoft.KeyVault/vaults/secrets')
      .filter((resource) => evaluator.evaluate(resource.condition ?? true))
      .map((resource) => evaluator.evaluate(resource) as any);
    const keyVaultName = evaluator.variable('keyVaultName') as string;
    const serviceIdentity = evaluator.variable('serviceIdentityId') as string;
    const migrationIdentity = evaluator.variable('migrationIdentityId') as string;
    const container = app.properties.template.containers[0];
    const env = new Map<string, { value?: string; secretRef?: string }>(container.env.map((entry: any) => [entry.name, entry]));

    // Secrets: Key Vault references read with the service's identity, each one a secret the
    // template writes; never a value.
    const secrets = new Map<string, any>(app.properties.configuration.secrets.map((secret: any) => [secret.name, secret]));
    for (const secret of secrets.values()) {
      t.notOk('value' in secret, `secret ${secret.name} holds no value`);
      t.equal(secret.identity, serviceIdentity, `secret ${secret.name} is read as the service's identity`);
      const secretName = secret.keyVaultUrl.match(/^https:\/\/([^.]+)\.vault\.azure\.net\/secrets\/([^/]+)$/);
      t.ok(secretName, `${secret.keyVaultUrl} is a versionless Key Vault secret URL (a rotation is picked up)`);
      t.equal(secretName?.[1], keyVaultName, 'in the template\'s vault');
      t.ok(secretResources.some((resource) => resource.name === `${keyVaultName}/${secretName?.[2]}`) || OPERATOR_SECRETS.has(secretName?.[2] ?? ''),
        `the template writes the secret ${secretName?.[2]}, or the docs tell the operator to`);
    }
    for (const [name, entry] of env) {
      if (entry.secretRef) t.ok(secrets.has(entry.secretRef), `${name} refers to the secret ${entry.secretRef}`);
    }
    for (const name of SECRET_FILE_VARIABLES.filter((name) => name !== 'DATABASE_URL' && name !== 'AUTH_ISSUERS')) {
      if (env.has(name)) t.ok(env.get(name)!.secretRef, `${name} comes from a secret by reference`);
    }
    if (env.has('REDIS_URL')) t.ok(env.get('REDIS_URL')!.secretRef, 'REDIS_URL (it carries the access key) comes from a secret');

    // Names: each one a setting of the service (the configuration's schema and its modules).
    for (const [owner, names] of [['container app', [...env.keys()]], ['migration job', job.properties.template.containers[0].env.map((entry: any) => entry.name)]] as const) {
      for (const name of names) t.ok(CONFIG_VARIABLES.includes(name) || TELEMETRY_VARIABLES.includes(name), `${owner}: ${name} is a setting of the service or of its telemetry`);
    }

    // Values: the secrets as the template writes them into Key Vault, then the real loadConfig
    // in production. It raises a ConfigError for any missing or invalid setting.
    const secretValue = (reference: string) => {
      const url: string = secrets.get(reference).keyVaultUrl;
      return secretResources.find((resource) => resource.name === `${keyVaultName}/${url.split('/').at(-1)}`)?.properties.value
        ?? OPERATOR_SECRETS.get(url.split('/').at(-1)!);
    };
    const processEnv: Record<string, string> = Object.fromEntries([...env].map(([name, entry]) => [name, entry.secretRef ? secretValue(entry.secretRef) : entry.value!]));
    t.equal(processEnv.NODE_ENV, 'production');
    let config: ReturnType<typeof loadConfig> | undefined;
    try {
      config = loadConfig(processEnv);
    } catch (error) {
      t.fail(`the service refuses the template's settings: ${error instanceof ConfigError ? error.problems.join('; ') : String(error)}`);
    }
    if (config) {
      t.equal(config.acs.endpoint.origin, processEnv.ACS_ENDPOINT, 'ACS through its endpoint');
      t.equal(config.acs.credentialClientId, processEnv.ACS_CREDENTIAL_CLIENT_ID);
      t.notOk(processEnv.ACS_CONNECTION_STRING, 'no ACS access key');
      t.match(processEnv.ACS_CREDENTIAL_CLIENT_ID, new RegExp(GUID_PATTERN), 'ACS with the managed identity\'s client id');
      t.equal(processEnv.ACS_CREDENTIAL_CLIENT_ID, stableGuid(serviceIdentity, 'client'), 'the service\'s identity, which has the ACS role');
      t.equal(config.migrateOnStart, false, 'the service does not migrate itself');
      t.equal(config.probePort, Number(processEnv.PROBE_PORT));
      t.equal(app.properties.configuration.ingress.targetPort, config.port, 'the ingress sends to PORT');
      if ('enableRedis' in variant.parameters) {
        t.ok(config.rateLimits.redisUrl?.startsWith('rediss://'), 'Redis over TLS');
        t.equal(decodeURIComponent(new URL(config.rateLimits.redisUrl!).password), 'redis/key+with=signs', 'the access key survives the URL');
        t.ok(config.auth.clientSecret, 'on-behalf-of has the client secret');
      } else {
        t.notOk(config.rateLimits.redisUrl, 'no Redis unless asked');
        t.notOk(env.has('AZURE_CLIENT_SECRET'), 'no client secret unless given');
        t.equal(app.properties.configuration.secrets.length, 3, 'only the audit key, the metrics token and Application Insights\' connection string');
      }
    }

    // The database: Entra authentication, no password in the URL, TLS, the service's own role.
    const databaseUrl = new URL(processEnv.DATABASE_URL!);
    t.equal(databaseUrl.password, '', 'no password in DATABASE_URL');
    // pg treats require as verify-full today, with a warning, and as libpq's weaker require from
    // its next major version: verify-full says what is meant (the server's certificate is public).
    t.equal(databaseUrl.searchParams.get('sslmode'), 'verify-full', 'TLS, the server\'s name and certificate verified');
    t.equal(new URL(job.properties.template.containers[0].env.find((entry: any) => entry.name === 'DATABASE_URL').value).searchParams.get('sslmode'), 'verify-full', 'for the job too');
    t.equal(processEnv.DATABASE_AUTH, 'entra');
    t.equal(processEnv.DATABASE_CREDENTIAL_CLIENT_ID, stableGuid(serviceIdentity, 'client'), 'the service connects as its identity');
    t.same(Object.keys(app.identity.userAssignedIdentities), [serviceIdentity], 'the app has the service\'s identity only');

    // The migration job: the image's migration command, as the database's Entra administrator.
    const jobContainer = job.properties.template.containers[0];
    const jobEnv = Object.fromEntries(jobContainer.env.map((entry: any) => [entry.name, entry.value]));
    t.notOk(jobContainer.env.some((entry: any) => entry.secretRef), 'the job needs no secret');
    t.equal(jobContainer.image, container.image, 'the job runs the app\'s image');
    t.same(jobContainer.args, ['dist/src/db/migrateCli.js', '--create-database'], 'the migration command the Dockerfile documents, creating its database (owned by the Entra administrator)');
    t.match(readFileSync(projectFile('Dockerfile'), 'utf8'), /the command dist\/src\/db\/migrateCli\.js/);
    t.ok(existsSync(projectFile('src', 'db', 'migrateCli.ts')), 'built from src/db/migrateCli.ts');
    t.same(container.args, imageCommand(), 'the app runs the image\'s command (the telemetry bootstrap, then the server)');
    t.equal(job.properties.configuration.triggerType, 'Manual');
    t.equal(jobEnv.NODE_ENV, 'production');
    t.equal(jobEnv.DATABASE_AUTH, 'entra');
    t.same(Object.keys(job.identity.userAssignedIdentities), [migrationIdentity], 'the job has the migration identity only');
    t.equal(jobEnv.DATABASE_CREDENTIAL_CLIENT_ID, stableGuid(migrationIdentity, 'client'), 'the job connects as the migration identity');
    const jobUrl = new URL(jobEnv.DATABASE_URL);
    t.equal(jobUrl.password, '', 'no password in the job\'s DATABASE_URL');
    t.equal(`${jobUrl.host}${jobUrl.pathname}`, `${databaseUrl.host}${databaseUrl.pathname}`, 'the same database');
    t.match(jobEnv.DATABASE_SERVICE_ROLE, new RegExp(ROLE_NAME_PATTERN), 'the service\'s role is a role name');
    t.equal(jobEnv.DATABASE_SERVICE_ROLE, decodeURIComponent(databaseUrl.username), 'the role the job creates is the one the service connects as');
    t.equal(jobEnv.DATABASE_SERVICE_ROLE_OBJECT_ID, stableGuid(serviceIdentity, 'principal'), 'created for the service identity\'s object id');
    t.not(jobUrl.username, databaseUrl.username, 'migrations and the service are different roles');
    // The Entra administrator is the migration identity, by object id and by role name.
    const administrator = template.resources.find((resource) => resource.type === NESTED)!;
    const administratorParameters = evaluator.evaluate(administrator.properties.parameters) as Record<string, { value: string }>;
    t.equal(administratorParameters.objectId!.value, stableGuid(migrationIdentity, 'principal'), 'the server\'s Entra administrator is the migration identity');
    t.equal(administratorParameters.principalName!.value, decodeURIComponent(jobUrl.username), 'whose role the job connects as');
    const server = evaluator.evaluate(resourceOf('Microsoft.DBforPostgreSQL/flexibleServers')[0]) as any;
    t.match(server.properties.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled' }, 'Entra authentication only');
    t.equal(`${server.name}.postgres.database.azure.com`, databaseUrl.hostname, 'DATABASE_URL names the server');

    // Probes: the contract's paths, on the probes' port.
    const probes = new Map<string, any>(container.probes.map((probe: any) => [probe.type, probe]));
    for (const [type, path] of [['Startup', '/healthz'], ['Liveness', '/healthz'], ['Readiness', '/readyz']] as const) {
      t.equal(probes.get(type)?.httpGet.path, path, `${type} probe on ${path}`);
      t.ok(contract.paths[path], `${path} is in openapi.yaml`);
      t.equal(probes.get(type)?.httpGet.port, Number(processEnv.PROBE_PORT), `${type} probe on PROBE_PORT`);
    }
    t.ok(app.properties.template.scale.rules.some((rule: any) => rule.http), 'an HTTP scale rule');
    t.ok(app.properties.template.scale.maxReplicas >= app.properties.template.scale.minReplicas);

    // What a client needs: the URL, the scope the service requires, the authority.
    const outputs = Object.fromEntries(Object.entries(template.outputs ?? {}).map(([name, output]) => [name, evaluator.evaluate(output.value)]));
    t.match(outputs.serviceUrl, /^https:\/\//);
    t.equal(outputs.apiScope, `api://${BASE_PARAMETERS.apiClientId}/${processEnv.AUTH_REQUIRED_SCOPE}`, 'the scope the service requires');
    t.equal(outputs.acsEndpoint, processEnv.ACS_ENDPOINT);
    t.same(mismatches, [], 'reference() and listKeys() use the list\'s API versions');
  });
}

t.test('the container app\'s telemetry goes to the template\'s Application Insights, its connection string through Key Vault', async (t) => {
  const looked: string[] = [];
  const evaluator = evaluatorFor(BASE_PARAMETERS, [], (id) => looked.push(id));
  const appResource = resourceOf('Microsoft.App/containerApps')[0]!;
  const app = evaluator.evaluate(appResource) as any;
  const entry = app.properties.template.containers[0].env.find((e: any) => e.name === 'APPLICATIONINSIGHTS_CONNECTION_STRING');
  t.ok(entry?.secretRef && !('value' in entry), 'APPLICATIONINSIGHTS_CONNECTION_STRING comes from a secret by reference');
  const secret = app.properties.configuration.secrets.find((s: any) => s.name === entry?.secretRef);
  const vaultSecretName = `${evaluator.variable('keyVaultName') as string}/${(secret?.keyVaultUrl as string | undefined)?.split('/').at(-1)}`;
  const vaultSecret = resourceOf('Microsoft.KeyVault/vaults/secrets').find((resource) => evaluator.evaluate(resource.name) === vaultSecretName);
  t.ok(vaultSecret, `the template writes the Key Vault secret ${vaultSecretName}`);
  if (!vaultSecret) return;
  t.notOk('condition' in vaultSecret, 'always: the template always makes Application Insights');

  const insightsId = evaluator.evaluate("[resourceId('Microsoft.Insights/components', variables('appInsightsName'))]") as string;
  t.equal(resourceOf('Microsoft.Insights/components').length, 1, 'the one Application Insights of the template');
  looked.length = 0;
  const written = evaluator.evaluate(vaultSecret) as any;
  t.equal(written.properties.value, 'InstrumentationKey=00000000-0000-0000-0000-000000000000', 'its value is a component\'s connection string');
  t.same(looked, [insightsId], 'read from the template\'s Application Insights, nothing else');
  t.ok((vaultSecret.dependsOn as string[]).map((id) => evaluator.evaluate(id)).includes(insightsId), 'written once Application Insights exists');
  const vaultSecretId = evaluator.evaluate(`[resourceId('Microsoft.KeyVault/vaults/secrets', variables('keyVaultName'), '${vaultSecretName.split('/')[1]}')]`);
  t.ok((appResource.dependsOn as string[]).map((id) => evaluator.evaluate(id)).includes(vaultSecretId), 'the container app waits for the secret');
});

t.test('the deployment script starts the migration job once, with a role for that alone', async (t) => {
  const evaluator = evaluatorFor(BASE_PARAMETERS);
  const [script] = resourceOf('Microsoft.Resources/deploymentScripts').map((resource) => evaluator.evaluate(resource) as any);
  const jobId = evaluator.evaluate("[resourceId('Microsoft.App/jobs', variables('jobName'))]");
  const starter = evaluator.variable('starterIdentityId') as string;
  t.same(Object.keys(script.identity.userAssignedIdentities), [starter], 'an identity of its own');
  t.equal(script.properties.environmentVariables.find((entry: any) => entry.name === 'JOB_NAME')?.value, evaluator.variable('jobName'));
  t.match(script.properties.scriptContent, /az containerapp job start/);
  t.equal(script.properties.forceUpdateTag, BASE_PARAMETERS.image, 'runs again when the image changes');
  const [role] = resourceOf('Microsoft.Authorization/roleDefinitions').map((resource) => evaluator.evaluate(resource) as any);
  t.same(role.properties.permissions[0].actions.filter((action: string) => !action.endsWith('/read')), ['Microsoft.App/jobs/start/action'], 'start is its only non-read action');
  const assignments = resourceOf('Microsoft.Authorization/roleAssignments').map((resource) => evaluator.evaluate(resource) as any);
  const assignment = assignments.find((a) => a.properties.roleDefinitionId.endsWith(role.name));
  t.equal(assignment?.scope, jobId, 'assigned on the job alone');
  t.equal(assignment?.properties.principalId, stableGuid(starter, 'principal'));
  // The app starts after the migration, as a Kubernetes release does.
  const app = resourceOf('Microsoft.App/containerApps')[0]!;
  t.ok(app.dependsOn.some((dependency: string) => dependency.includes('Microsoft.Resources/deploymentScripts')), 'the app waits for the migration');
});

t.test('resource types and API versions: the list, and the npm packages of those services', async (t) => {
  const used = new Set<string>();
  for (const resource of allResources(template)) {
    used.add(resource.type);
    t.equal(resource.apiVersion, apiVersionList.types[resource.type]?.apiVersion, `${resource.type}@${resource.apiVersion} is the list's`);
  }
  t.same([...used].sort(), Object.keys(apiVersionList.types).sort(), 'the list names exactly the types the template deploys');
  for (const [type, version] of Object.entries(template.variables!.apiVersions as Record<string, string>)) {
    t.equal(version, apiVersionList.types[type]?.apiVersion, `variables('apiVersions') ${type} is the list's`);
  }
  for (const [type, entry] of Object.entries(apiVersionList.types)) {
    if (entry.exempt) {
      t.notOk(entry.package, `${type} is exempt (${entry.exempt.slice(0, 60)}…) and names no package`);
      continue;
    }
    t.ok(entry.package, `${type} names its package`);
    const pinned = packageJson.devDependencies[entry.package!];
    t.match(pinned, /^\d+\.\d+\.\d+(-[\w.]+)?$/, `${entry.package} is pinned`);
    t.equal(installedVersion(entry.package!), pinned, `${entry.package} installed as pinned`);
    t.same([...packageApiVersions(entry.package!, type)], [entry.apiVersion], `${entry.package}@${pinned} sends ${entry.apiVersion} for ${type}`);
  }
});
