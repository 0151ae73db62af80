// deploy/kubernetes: the base and the example overlay, rendered by a real `kubectl kustomize`,
// every object validated against the Kubernetes schemas (kubernetes-models), and the parts
// that must agree with the service checked against the service itself: probe paths against
// openapi.yaml, ports against its settings, variable names against what config.ts reads, the
// grace period against its shutdown, the migration command against the built file's name.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { ROLE_NAME_PATTERN } from '../src/db/serviceRole.js';
import { IN_FLIGHT_GRACE_MS } from '../src/plugins/lifecycle.js';
import { projectFile } from '../src/projectFiles.js';

// One model per kind we ship: a new kind must be added here to be validated.
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'batch/v1/Job': Job,
};

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return 'kubectl';
  } catch {
    return undefined;
  }
})();

function render(folder: string): any[] {
  const output = execFileSync(kubectl!, ['kustomize', projectFile('deploy', 'kubernetes', folder)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(output).map((document) => document.toJSON()).filter(Boolean);
}

const contract = parse(readFileSync(projectFile('openapi.yaml'), 'utf8')) as { paths: Record<string, unknown> };

t.test('kubectl is here to render the manifests', async (t) => {
  // .ci/run installs Debian's kubernetes-client when no kubectl is found.
  t.ok(kubectl, 'kubectl found');
});

for (const folder of ['base', 'overlays/example']) {
  t.test(`${folder}: renders, and every object is valid and agrees with the service`, { skip: kubectl ? false : 'no kubectl' }, async (t) => {
    const objects = render(folder);
    const kinds = objects.map((object) => object.kind).sort();
    t.same(kinds, [
      'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', ...(folder === 'base' ? [] : ['Namespace']),
      'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount',
    ], 'the objects of a deployment, and no Secret (its values are never in the repository)');

    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      t.ok(Model, `${object.apiVersion} ${object.kind} has a schema here`);
      if (Model) t.doesNotThrow(() => new Model(object).validate(), `${object.kind} ${object.metadata.name} is valid`);
      if (folder !== 'base') t.equal(object.metadata.namespace ?? (object.kind === 'Namespace' ? 'acs' : undefined), 'acs', `${object.kind} in the overlay's namespace`);
    }

    const find = (kind: string) => objects.find((object) => object.kind === kind);
    const deployment = find('Deployment');
    const job = find('Job');
    const settings: Record<string, string> = find('ConfigMap').data;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];

    t.notOk('replicas' in deployment.spec, 'no replicas field: an apply must not reset what the autoscaler set');
    t.equal(find('HorizontalPodAutoscaler').spec.minReplicas, 3, 'three replicas at least');
    t.ok(find('PodDisruptionBudget').spec.maxUnavailable === 1, 'a drain takes one replica at a time');

    // Ports: the container's named ports are the service's settings.
    const port = (name: string) => container.ports.find((p: { name: string }) => p.name === name)?.containerPort;
    t.equal(String(port('http')), settings.PORT, 'containerPort http = PORT');
    t.equal(String(port('metrics')), settings.METRICS_PORT, 'containerPort metrics = METRICS_PORT');
    t.equal(String(port('probes')), settings.PROBE_PORT, 'containerPort probes = PROBE_PORT');
    const servicePorts = find('Service').spec.ports.map((p: { targetPort: string }) => p.targetPort).sort();
    t.same(servicePorts, ['http', 'metrics'], 'the Service targets the named ports');

    // Probes: paths of the contract, on the probe port (the API port answers them 404).
    for (const [probe, path] of [['startupProbe', '/healthz'], ['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
      t.equal(container[probe].httpGet.path, path, `${probe} → ${path}`);
      t.equal(container[probe].httpGet.port, 'probes');
      t.ok(contract.paths[path], `${path} is in openapi.yaml`);
    }

    // Shutdown: the grace period covers the preStop pause, the service's delay and its drain.
    const pause = container.lifecycle.preStop.sleep.seconds;
    const serviceShutdown = Number(settings.SHUTDOWN_DELAY_MS) / 1000 + IN_FLIGHT_GRACE_MS / 1000;
    t.ok(pause >= 3, `preStop pauses ${pause} s while endpoints are updated`);
    t.ok(pod.terminationGracePeriodSeconds > pause + serviceShutdown,
      `grace ${pod.terminationGracePeriodSeconds} s > pause ${pause} s + service shutdown ${serviceShutdown} s`);

    // Security: non-root, no privilege escalation, read-only root, no capabilities.
    for (const [name, spec] of [['Deployment', pod], ['Job', job.spec.template.spec]] as const) {
      t.equal(spec.securityContext.runAsNonRoot, true, `${name}: non-root`);
      t.not(spec.securityContext.runAsUser, 0, `${name}: not uid 0`);
      for (const c of spec.containers) {
        t.match(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } }, `${name}: locked-down container`);
        t.ok(c.resources.requests && c.resources.limits, `${name}: requests and limits`);
      }
    }

    // Settings and secrets: every name is one the service reads; secrets by reference only.
    const envNames = [...Object.keys(settings), ...container.env.map((e: { name: string }) => e.name), ...job.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)];
    for (const name of new Set(envNames)) t.ok(CONFIG_VARIABLES.includes(name), `${name} is a setting of the service`);
    for (const entry of container.env) {
      t.ok(entry.valueFrom?.secretKeyRef?.name ?? entry.valueFrom?.configMapKeyRef?.name, `${entry.name} comes from a Secret or the ConfigMap by reference`);
    }
    // The workload-identity webhook would put the identity's ids there otherwise.
    for (const name of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID']) {
      t.equal(container.env.find((e: { name: string }) => e.name === name)?.valueFrom?.configMapKeyRef?.key, name, `${name} in the container's env`);
    }
    for (const secret of ['DATABASE_URL', 'AUDIT_HASH_KEY', 'METRICS_TOKEN', 'ACS_CONNECTION_STRING', 'AZURE_CLIENT_SECRET']) {
      t.notOk(secret in settings, `${secret} is not in the ConfigMap`);
    }
    // The settings are accepted as they are (with a database from the Secret). Behind the
    // ingress, the proxy is trusted by its addresses: the base's NetworkPolicy lets anyone in
    // on the API port, so with a hop count a client reaching a pod directly could choose its IP.
    const config = loadConfig({ ...settings, DATABASE_URL: 'postgres://db.example/acs' });
    if (folder === 'base') t.equal(config.trustProxy, false, 'no proxy trusted in the base');
    else t.ok(Array.isArray(config.trustProxy), `TRUST_PROXY is a list of proxy addresses (${settings.TRUST_PROXY})`);

    // Workload identity: the ServiceAccount's client id is the one the service uses for ACS.
    t.equal(pod.serviceAccountName, find('ServiceAccount').metadata.name);
    t.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token in the pod');
    t.equal(deployment.spec.template.metadata.labels['azure.workload.identity/use'], 'true');
    t.equal(find('ServiceAccount').metadata.annotations['azure.workload.identity/client-id'], settings.ACS_CREDENTIAL_CLIENT_ID);

    // The migration Job: the same image, the built migration command, a database secret of its
    // own (the role that may change the schema), and the service's role to grant.
    const jobContainer = job.spec.template.spec.containers[0];
    const secretOf = (env: any[], name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.name;
    t.equal(secretOf(jobContainer.env, 'DATABASE_URL'), 'acs-token-service-migrations', 'the Job migrates with the migration role\'s Secret');
    t.equal(secretOf(container.env, 'DATABASE_URL'), 'acs-token-service', 'the service connects with its own role\'s Secret');
    t.notOk(container.env.some((e: any) => e.valueFrom?.secretKeyRef?.name === 'acs-token-service-migrations'), 'the service never sees the migration role\'s Secret');
    t.match(jobContainer.env.find((e: { name: string }) => e.name === 'DATABASE_SERVICE_ROLE')?.value, new RegExp(ROLE_NAME_PATTERN), 'the Job grants the service\'s role');
    t.not(config.migrateOnStart, true, 'the service does not migrate itself (its role cannot)');
    t.equal(job.spec.template.spec.containers[0].image, container.image, 'the Job runs the release\'s image');
    t.same(job.spec.template.spec.containers[0].args, ['dist/src/db/migrateCli.js']);
    t.ok(existsSync(projectFile('src', 'db', 'migrateCli.ts')), 'built from src/db/migrateCli.ts');
    t.same(container.args, ['dist/src/server.js']);
    t.equal(job.spec.template.spec.restartPolicy, 'Never');
    t.equal(job.metadata.labels['app.kubernetes.io/component'], 'migration', 'selectable on its own (kubectl apply -l)');

    // The NetworkPolicy lets in the API port and lets out what the service calls.
    const policy = find('NetworkPolicy');
    t.ok(policy.spec.ingress.some((rule: any) => rule.ports.some((p: any) => p.port === 'http')), 'API port open');
    t.notOk(policy.spec.ingress.some((rule: any) => rule.ports.some((p: any) => p.port === 'probes')), 'probe port closed to pods (the kubelet is always let in)');
    const egressPorts = policy.spec.egress.flatMap((rule: any) => rule.ports.map((p: any) => p.port));
    for (const needed of [53, 5432, 443]) t.ok(egressPorts.includes(needed), `egress to ${needed}`);
  });
}
