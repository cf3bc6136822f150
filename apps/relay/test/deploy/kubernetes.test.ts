/**
 * deploy/kubernetes: every manifest decodes strictly against the Kubernetes API types (deploy/check, k8s.io/api with
 * sigs.k8s.io/yaml's UnmarshalStrict: unknown, duplicate or mistyped fields fail), alone and as `kubectl kustomize`
 * renders them; the objects fit together (selectors, ports, probes on /healthz and /readyz, resources, non-root);
 * the two roles are apart (an ingest Deployment behind the Service, an aggregator Deployment no Service selects, each
 * with its own PodDisruptionBudget); and the ConfigMap's relay.yaml is a config both accept, reading its secrets
 * where the Secret is mounted.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { DEPLOY, deployCheck, run, tool } from './tools.js';

const K8S = join(DEPLOY, 'kubernetes');
const kubectl = () => tool('kubectl', 'kubectl comes with the machine image (its kustomize renders deploy/kubernetes offline)');
const manifests = () => readdirSync(K8S).filter((f) => f.endsWith('.yaml')).sort();
const load = (file: string) => parseYaml(readFileSync(join(K8S, file), 'utf8')) as any;
const ROLES = [
  { file: 'ingest-deployment.yaml', pdb: 'ingest-poddisruptionbudget.yaml', name: 'prom-relay-ingest', command: 'ingest', component: 'ingest' },
  { file: 'aggregator-deployment.yaml', pdb: 'aggregator-poddisruptionbudget.yaml', name: 'prom-relay-aggregator', command: 'aggregate', component: 'aggregator' },
] as const;
/** Whether a matchLabels-style selector selects a pod with these labels (the manifests use matchLabels only). */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const BUILD_TIMEOUT = 600_000; // the first build of deploy/check fetches and compiles k8s.io/api

async function check(files: string[], input?: string) {
  return run(await deployCheck(), ['kubernetes', ...files], { cwd: K8S, ...(input === undefined ? {} : { input }) });
}

describe('deploy/kubernetes', () => {
  it('decodes strictly against the Kubernetes API types, file by file, and fits together', async () => {
    const r = await check(manifests());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const objects = (JSON.parse(r.stdout) as { kind: string; name: string }[]).map((o) => `${o.kind}/${o.name}`).sort();
    expect(objects).toEqual([
      'ConfigMap/prom-relay-config',
      'Deployment/prom-relay-aggregator',
      'Deployment/prom-relay-ingest',
      'Namespace/prom-relay',
      'PodDisruptionBudget/prom-relay-aggregator',
      'PodDisruptionBudget/prom-relay-ingest',
      'Secret/prom-relay-secrets',
      'Service/prom-relay',
      'ServiceAccount/prom-relay',
    ]);
  }, BUILD_TIMEOUT);

  it('renders with kubectl kustomize, and what it renders decodes strictly too', async () => {
    const rendered = await run(kubectl(), ['kustomize', '.'], { cwd: K8S });
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const r = await check(['-'], rendered.stdout);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as any);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/prom-relay-config',
      'Deployment/prom-relay-aggregator',
      'Deployment/prom-relay-ingest',
      'Namespace/prom-relay',
      'PodDisruptionBudget/prom-relay-aggregator',
      'PodDisruptionBudget/prom-relay-ingest',
      'Service/prom-relay',
      'ServiceAccount/prom-relay',
    ]);
    for (const d of docs) if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind} namespace`).toBe('prom-relay');
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    for (const d of deployments) expect(d.spec.template.spec.containers[0].image, d.metadata.name).toBe('registry.example.com/prom-relay:0.1.0');
  }, BUILD_TIMEOUT);

  it('refuses unknown, duplicate and mistyped fields, and a Service selecting no pod (the check catches what it claims)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-relay-k8s-'));
    for (const { file } of ROLES) {
      const deployment = readFileSync(join(K8S, file), 'utf8');
      const cases: [string, string, RegExp][] = [
        ['unknown', deployment.replace('  revisionHistoryLimit: 5\n', '  revisionHistoryLimit: 5\n  replica: 2\n'), /unknown field "replica"/],
        ['duplicate', deployment.replace('  revisionHistoryLimit: 5\n', '  revisionHistoryLimit: 5\n  replicas: 2\n'), /"replicas" already set/],
        ['mistyped', deployment.replace('containerPort: 9464', 'containerPort: "9464"'), /cannot unmarshal string/],
        ['probe', deployment.replace('path: /readyz', 'path: /ready'), /readiness probe on \/ready, want \/readyz/],
        ['liveness', deployment.replace(/livenessProbe:\n            httpGet:\n              path: \/healthz/, 'livenessProbe:\n            httpGet:\n              path: /readyz'), /liveness probe on \/readyz, want \/healthz/],
        ['limits', deployment.replace(/            limits:\n              cpu: "2"\n/, '            limits:\n'), /no cpu limit/],
      ];
      for (const [name, text, error] of cases) {
        expect(text, `${file} ${name}`).not.toBe(deployment);
        writeFileSync(join(dir, file), text);
        const others = manifests().filter((f) => f !== file).map((f) => join(K8S, f));
        const r = await check([...others, join(dir, file)]);
        expect(r.code, `${file} ${name}`).toBe(1);
        expect(r.stderr, `${file} ${name}`).toMatch(error);
      }
    }
    // A PodDisruptionBudget whose selector lost its workload (the pre-split component label) is refused.
    const pdb = readFileSync(join(K8S, 'aggregator-poddisruptionbudget.yaml'), 'utf8').replace('component: aggregator', 'component: relay');
    writeFileSync(join(dir, 'aggregator-poddisruptionbudget.yaml'), pdb);
    const p = await check([...manifests().filter((f) => f !== 'aggregator-poddisruptionbudget.yaml').map((f) => join(K8S, f)), join(dir, 'aggregator-poddisruptionbudget.yaml')]);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/PodDisruptionBudget prom-relay-aggregator: its selector matches no workload's pods/);
    const service = readFileSync(join(K8S, 'service.yaml'), 'utf8').replace('app.kubernetes.io/component: ingest\n  ports', 'app.kubernetes.io/component: relay\n  ports');
    expect(service).toContain('component: relay\n  ports');
    writeFileSync(join(dir, 'service.yaml'), service);
    const r = await check([...manifests().filter((f) => f !== 'service.yaml').map((f) => join(K8S, f)), join(dir, 'service.yaml')]);
    expect(r.stderr).toMatch(/Service prom-relay: its selector .* matches no workload's pods/);
  }, BUILD_TIMEOUT);

  it('keeps the roles apart: the Service and each PodDisruptionBudget select exactly one role\'s pods', () => {
    const service = load('service.yaml');
    const deployments = ROLES.map((r) => ({ ...r, d: load(r.file) }));
    const podLabels = (d: any) => d.spec.template.metadata.labels as Record<string, string>;
    for (const { file, pdb, name, component, d } of deployments) {
      expect(d.metadata.name, file).toBe(name);
      expect(podLabels(d)['app.kubernetes.io/component'], file).toBe(component);
      expect(d.spec.selector.matchLabels, file).toEqual(podLabels(d));
      expect(d.spec.template.spec.topologySpreadConstraints[0].labelSelector.matchLabels, file).toEqual(d.spec.selector.matchLabels);
      const budget = load(pdb);
      expect(budget.metadata.name, pdb).toBe(name);
      expect(budget.spec.maxUnavailable, pdb).toBe(1);
      for (const other of deployments) expect(selects(budget.spec.selector.matchLabels, podLabels(other.d)), `${pdb} selects ${other.file}`).toBe(other.file === file);
      // and the Deployment's own selector takes no pod of the other role (two ReplicaSets fighting over pods)
      for (const other of deployments) expect(selects(d.spec.selector.matchLabels, podLabels(other.d)), `${file} selects ${other.file}`).toBe(other.file === file);
    }
    // Pushes reach the ingest only: the aggregators answer the ingest routes 404
    for (const { component, d } of deployments) expect(selects(service.spec.selector, podLabels(d)), `Service selects ${component}`).toBe(component === 'ingest');
  });

  for (const role of ROLES) {
    it(`${role.file}: runs \`prom-relay ${role.command}\` on a relay.yaml it accepts, reading its secrets from the Secret's mount, on the probed port`, () => {
      const deployment = load(role.file);
      const pod = deployment.spec.template.spec;
      expect(pod.containers).toHaveLength(1);
      const container = pod.containers[0];
      expect(container.args).toEqual([role.command]);
      const configText: string = load('configmap.yaml').data['relay.yaml'];
      const secret = load('secret.example.yaml');
      // Where the pod mounts the Secret, each of its keys is a file: write them to a folder standing for that mount.
      const secretVolume = pod.volumes.find((v: any) => v.secret?.secretName === secret.metadata.name);
      const mountPath: string = container.volumeMounts.find((m: any) => m.name === secretVolume.name).mountPath;
      const standIn = mkdtempSync(join(tmpdir(), 'prom-relay-secrets-'));
      for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) writeFileSync(join(standIn, key), `${value}\n`);
      const env: Record<string, string> = {};
      for (const e of container.env) if (e.name.startsWith('PROM_RELAY_') && e.value !== undefined) env[e.name] = e.value;
      delete env.PROM_RELAY_CONFIG;
      const config = loadConfig({ text: configText.replaceAll(`${mountPath}/`, `${standIn}/`), env });
      expect(configText).toContain(`password_file: ${mountPath}/remote-write-password`);
      expect(config.remote_write.password).toBe(secret.stringData['remote-write-password']);
      expect(config.ingest.password).toBe(secret.stringData['ingest-password']);
      // The config the container reads is the ConfigMap's key, at the path PROM_RELAY_CONFIG names.
      const configMount = container.volumeMounts.find((m: any) => m.name === 'config');
      expect(container.env.find((e: any) => e.name === 'PROM_RELAY_CONFIG').value).toBe(configMount.mountPath);
      expect(configMount.subPath).toBe('relay.yaml');
      expect(pod.volumes.find((v: any) => v.name === 'config').configMap.name).toBe('prom-relay-config');
      // Probes and the Service reach the port the relay listens on; the pod outlives the relay's shutdown deadline.
      expect(container.ports.find((p: any) => p.name === 'http').containerPort).toBe(config.server.port);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdown.timeout + 1000);
      expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(config.server.port));
      if (role.command === 'ingest') {
        // one worker process per CPU of the limit: os.availableParallelism() sees the node's CPUs, not the quota
        expect(env.PROM_RELAY_INGEST__WORKERS).toBeDefined();
        expect(config.ingest.workers).toBe(Number(container.resources.limits.cpu));
        expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
      } else {
        // more aggregators than input partitions only idle in the consumer group
        expect(deployment.spec.replicas).toBeLessThanOrEqual(config.kafka.topic_partitions);
        expect(readFileSync(join(K8S, role.file), 'utf8')).toMatch(/# at most the input topic's partitions/);
      }
    }, 30_000);
  }
});
