// deploy/kubernetes: the base and the example overlay, rendered by a real `kubectl kustomize`,
// every object validated against the Kubernetes schemas (kubernetes-models), and the parts
// that must agree with the service checked against the service itself: probe paths against
// openapi.yaml, ports against its settings, variable names against what the configuration reads, the
// grace period against its shutdown, the migration command against the built file's name.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { BlockList, isIPv4 } from 'node:net';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { CONFIG_VARIABLES, loadConfig } from '../src/config/index.js';
import { ROLE_NAME_PATTERN } from '../src/db/serviceRole.js';
import { IN_FLIGHT_GRACE_MS } from '../src/plugins/lifecycle.js';
import { imageCommand } from './helpers/imageCommand.js';
import { projectFile } from '../src/projectFiles.js';
import { TELEMETRY_VARIABLES } from './helpers/telemetryVariables.js';

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
      'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount',
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
    for (const name of new Set(envNames)) t.ok(CONFIG_VARIABLES.includes(name) || TELEMETRY_VARIABLES.includes(name), `${name} is a setting of the service or of its telemetry`);
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
    // ingress, the proxy is trusted by its addresses, which need no NetworkPolicy to be safe:
    // with a hop count, any pod the policy ever let in could choose its client IP.
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
    t.same(container.args, imageCommand(), 'the service runs the image\'s command (the telemetry bootstrap, then the server)');
    t.equal(job.spec.template.spec.restartPolicy, 'Never');
    t.equal(job.metadata.labels['app.kubernetes.io/component'], 'migration', 'selectable on its own (kubectl apply -l)');

    // Telemetry: off in the base; where an overlay turns it on, standard OTLP over HTTP to a
    // collector in the cluster, on the port the NetworkPolicy opens, with a sampling ratio.
    const telemetry = Object.keys(settings).filter((name) => name.startsWith('OTEL_'));
    if (folder === 'base') {
      t.same(telemetry, [], 'base: no telemetry settings (an overlay names its collector)');
    } else {
      t.same(telemetry.sort(), ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_SERVICE_NAME', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'], 'the overlay sets the OpenTelemetry settings');
      const endpoint = new URL(settings.OTEL_EXPORTER_OTLP_ENDPOINT!);
      t.equal(endpoint.protocol, 'http:', 'the collector in the cluster, over HTTP');
      t.equal(endpoint.port, '4318', 'the OTLP/HTTP port');
      t.match(endpoint.hostname, /^[a-z0-9-]+\.[a-z0-9-]+$/, 'a Service by name and namespace');
      t.equal(settings.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf', 'OTLP over HTTP with protobuf, which port 4318 serves');
      t.equal(settings.OTEL_SERVICE_NAME, 'acs-token-service');
      t.equal(settings.OTEL_TRACES_SAMPLER, 'parentbased_traceidratio', 'the caller\'s sampling decision first');
      const ratio = Number(settings.OTEL_TRACES_SAMPLER_ARG);
      t.ok(ratio > 0 && ratio <= 1, `a ratio of traces kept (${settings.OTEL_TRACES_SAMPLER_ARG})`);
      const policy = objects.find((object) => object.metadata.name === 'acs-token-service-telemetry');
      const collectorNamespace = endpoint.hostname.split('.')[1]!;
      const allowed = policy.spec.egress.filter((rule: any) => rule.ports.some((p: any) => String(p.port) === endpoint.port));
      t.ok(allowed.some((rule: any) => rule.to.some((peer: any) => peer.namespaceSelector && selects(peer.namespaceSelector, namespaceLabels(collectorNamespace)))),
        `the NetworkPolicy lets the pods reach port ${endpoint.port} in the endpoint's namespace, ${collectorNamespace}`);
    }

    // The NetworkPolicies: their own test below.
  });
}

// The NetworkPolicies, evaluated as Kubernetes would: which pods each port of the service's
// pods admits, and where its pods and the migration Job's may connect. The sample pods are
// those of a cluster like the example overlay's (ingress-nginx's and Prometheus's charts).
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
type Pod = { namespace: string; labels: Record<string, string> };

function selects(selector: Selector, labels: Record<string, string>): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value)
    && (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labels[key];
      switch (operator) {
        case 'In': return value !== undefined && values.includes(value);
        case 'NotIn': return value === undefined || !values.includes(value);
        case 'Exists': return key in labels;
        case 'DoesNotExist': return !(key in labels);
        default: throw new Error(`unknown operator ${operator}`);
      }
    });
}

// No labels can satisfy it: one key required both present and absent.
function matchesNothing(selector: Selector | undefined): boolean {
  const expressions = selector?.matchExpressions ?? [];
  return expressions.some((e) => e.operator === 'DoesNotExist'
    && (e.key in (selector?.matchLabels ?? {}) || expressions.some((other) => other.key === e.key && (other.operator === 'Exists' || other.operator === 'In'))));
}

const namespaceLabels = (namespace: string) => ({ 'kubernetes.io/metadata.name': namespace });

function peerAdmits(peer: any, policyNamespace: string, pod: Pod): boolean {
  if (peer.ipBlock) return false; // addresses, not pods: checked on their own
  if (!peer.namespaceSelector && pod.namespace !== policyNamespace) return false;
  if (peer.namespaceSelector && !selects(peer.namespaceSelector, namespaceLabels(pod.namespace))) return false;
  return !peer.podSelector || selects(peer.podSelector, pod.labels);
}

t.test('NetworkPolicies: each port admits only its own clients, and the pods reach only what they call', { skip: kubectl ? false : 'no kubectl' }, async (t) => {
  // The overlay's own file: what it writes is what must come out of the rendering.
  const patchFile = projectFile('deploy', 'kubernetes', 'overlays', 'example', 'networkpolicy.yaml');
  const overlayPatches: any[] = existsSync(patchFile)
    ? parseAllDocuments(readFileSync(patchFile, 'utf8')).map((document) => document.toJSON()).filter(Boolean)
    : [];
  const overlayPatch = (name: string) => overlayPatches.find((p) => p.metadata.name === name)?.spec ?? {};

  for (const folder of ['base', 'overlays/example']) {
    const objects = render(folder);
    const namespace = folder === 'base' ? 'default' : 'acs';
    const policies = objects.filter((object) => object.kind === 'NetworkPolicy');
    const deployment = objects.find((object) => object.kind === 'Deployment');
    const job = objects.find((object) => object.kind === 'Job');
    const api: Pod = { namespace, labels: deployment.spec.template.metadata.labels };
    const migration: Pod = { namespace, labels: job.spec.template.metadata.labels };
    const containerPorts: { name: string; containerPort: number }[] = deployment.spec.template.spec.containers[0].ports;

    const governing = (pod: Pod, type: 'Ingress' | 'Egress') => policies.filter((policy) =>
      (policy.metadata.namespace ?? 'default') === pod.namespace && selects(policy.spec.podSelector, pod.labels) && policy.spec.policyTypes.includes(type));
    const ingressRules = (pod: Pod) => governing(pod, 'Ingress').flatMap((policy) => (policy.spec.ingress ?? []).map((rule: any) => ({ rule, policy })));
    const egressRules = (pod: Pod) => governing(pod, 'Egress').flatMap((policy) => (policy.spec.egress ?? []).map((rule: any) => ({ rule, policy })));
    const coversPort = (rule: any, name: string) => !rule.ports?.length || rule.ports.some((p: any) =>
      (p.protocol ?? 'TCP') === 'TCP' && (p.port === name || p.port === containerPorts.find((c) => c.name === name)?.containerPort));

    t.test(folder, async (t) => {
      // Default deny: every pod of ours is governed both ways.
      for (const [name, pod] of [['service', api], ['migration Job', migration]] as const) {
        t.ok(governing(pod, 'Ingress').length, `${name} pods: ingress governed by a policy`);
        t.ok(governing(pod, 'Egress').length, `${name} pods: egress governed by a policy`);
      }
      for (const policy of policies) {
        for (const rule of policy.spec.ingress ?? []) t.ok(rule.from?.length, `${policy.metadata.name}: ingress rule has a from`);
        for (const rule of policy.spec.egress ?? []) {
          t.ok(rule.to?.length, `${policy.metadata.name}: egress rule has a to`);
          t.ok(rule.ports?.length, `${policy.metadata.name}: egress rule names its ports`);
        }
      }

      // Who gets in, port by port.
      const stranger: Pod = { namespace: 'default', labels: { app: 'web' } };
      const clients: Record<string, Pod> = {
        'ingress controller': { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller', 'app.kubernetes.io/instance': 'ingress-nginx' } },
        'ingress admission webhook': { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'admission-webhook' } },
        'ingress controller look-alike elsewhere': { namespace: 'tenant-a', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } },
        prometheus: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } },
        'grafana in monitoring': { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'grafana' } },
        'another replica': api,
        'a pod of our namespace': { namespace, labels: { app: 'debug' } },
        'a pod of default': stranger,
      };
      const expected: Record<string, string[]> = folder === 'base'
        ? { http: [], metrics: [], probes: [] }
        : { http: ['ingress controller'], metrics: ['prometheus'], probes: [] };
      for (const port of ['http', 'metrics', 'probes']) {
        const admitted = Object.entries(clients).filter(([, client]) => ingressRules(api).some(({ rule, policy }) =>
          coversPort(rule, port) && (!rule.from?.length || rule.from.some((peer: any) => peerAdmits(peer, policy.metadata.namespace ?? 'default', client))))).map(([name]) => name);
        const wanted = expected[port] ?? [];
        t.same(admitted, wanted, `${port} port admits ${wanted.join(', ') || 'no pod'}`);
      }
      t.same(ingressRules(migration), [], 'the migration Job admits nothing');
      for (const { rule } of ingressRules(api)) {
        t.notOk(rule.from?.some((peer: any) => peer.ipBlock), 'ingress peers are pods by labels, not addresses');
      }

      if (folder === 'base') {
        // Not only the sample pods: the base's peers can match no pod at all, so an overlay
        // that forgets them fails closed.
        for (const { rule } of ingressRules(api)) {
          t.ok(rule.from?.every((peer: any) => matchesNothing(peer.namespaceSelector) || matchesNothing(peer.podSelector)), 'base: an ingress peer that matches no pod');
        }
      } else {
        // The API and metrics ports admit exactly the peers the overlay names.
        const patched = overlayPatch('acs-token-service');
        for (const port of ['http', 'metrics']) {
          const rendered = ingressRules(api).filter(({ rule }) => coversPort(rule, port)).flatMap(({ rule }) => rule.from ?? [{}]);
          const written = (patched.ingress ?? []).filter((rule: any) => coversPort(rule, port)).flatMap((rule: any) => rule.from);
          t.same(rendered, written, `${port}: the overlay's peers, unchanged by the base's transformations`);
          t.ok(rendered.every((peer: any) => peer.namespaceSelector && peer.podSelector), `${port}: peers are named pods of a named namespace`);
        }
      }

      // Out: only the listed ports, each to a named destination.
      const dnsServer: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
      // The opentelemetry-collector Helm chart's pods, in the namespace of the overlay's endpoint.
      const collector: Pod = { namespace: 'observability', labels: { 'app.kubernetes.io/name': 'opentelemetry-collector', 'app.kubernetes.io/instance': 'otel-collector' } };
      const ports = (pod: Pod) => [...new Set(egressRules(pod).flatMap(({ rule }) => (rule.ports ?? [{ port: 'any' }]).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`)))].sort();
      t.same(ports(api), ['4318/TCP', '443/TCP', '53/TCP', '53/UDP', '5432/TCP', '6379/TCP', '6380/TCP', '6432/TCP'], 'service: DNS, HTTPS, PostgreSQL/PgBouncer, Redis, the OpenTelemetry collector');
      t.same(ports(migration), ['53/TCP', '53/UDP', '5432/TCP', '6432/TCP'], 'migration Job: DNS and PostgreSQL/PgBouncer');
      for (const pod of [api, migration]) {
        for (const { rule: { to = [{ ipBlock: { cidr: '0.0.0.0/0' } }], ...rule }, policy } of egressRules(pod)) {
          const numbers = (rule.ports ?? []).map((p: any) => p.port);
          const policyNamespace = policy.metadata.namespace ?? 'default';
          if (numbers.includes(53)) {
            t.ok(to.some((peer: any) => peerAdmits(peer, policyNamespace, dnsServer)), 'DNS: kube-dns is reachable');
            t.notOk(to.some((peer: any) => peerAdmits(peer, policyNamespace, stranger)), 'DNS: no other pod');
          } else if (numbers.includes(443)) {
            t.same(to.map((peer: any) => peer.ipBlock?.cidr), ['0.0.0.0/0'], 'HTTPS: public addresses');
            t.same(to[0].ipBlock.except, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'], 'HTTPS: not the private, shared or link-local ranges');
          } else if (folder === 'base') {
            t.ok(to.every((peer: any) => !peer.ipBlock && (matchesNothing(peer.namespaceSelector) || matchesNothing(peer.podSelector))), `base: ${numbers} to a placeholder that matches nothing`);
          } else if (numbers.includes(5432)) {
            const written = overlayPatch('acs-token-service-database').egress?.[0]?.to;
            t.same(to, written, 'PostgreSQL: the database the overlay names');
            t.notOk(to.some((peer: any) => peer.ipBlock?.cidr === '0.0.0.0/0'), 'PostgreSQL: not anywhere');
          } else if (numbers.includes(4318)) {
            t.same(to, overlayPatch('acs-token-service-telemetry').egress?.[0]?.to, 'OpenTelemetry collector: the pods the overlay names');
            t.ok(to.some((peer: any) => peerAdmits(peer, policyNamespace, collector)), 'OpenTelemetry collector: its pods are reachable');
            t.notOk(to.some((peer: any) => peerAdmits(peer, policyNamespace, stranger) || peer.ipBlock), 'OpenTelemetry collector: no other pod or address');
          }
        }
      }

      // TRUST_PROXY names the ingress controller's pod range: private addresses, not a hop count.
      if (folder !== 'base') {
        const trustProxy = objects.find((object) => object.kind === 'ConfigMap').data.TRUST_PROXY.split(',').map((s: string) => s.trim());
        const privateRanges = new BlockList();
        for (const [address, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]] as const) privateRanges.addSubnet(address, prefix);
        for (const range of trustProxy) {
          const [address, prefix] = range.split('/');
          t.ok(isIPv4(address) && Number(prefix) >= 8 && privateRanges.check(address), `TRUST_PROXY ${range} is a pod range inside the cluster's private addresses`);
        }
      }
    });
  }
});
