/**
 * deploy/kubernetes: every manifest decodes strictly against the Kubernetes API types (deploy/check, k8s.io/api with
 * sigs.k8s.io/yaml's UnmarshalStrict: unknown, duplicate or mistyped fields fail), alone and as `kubectl kustomize`
 * renders them; the objects fit together (selectors, ports, probes on /healthz and /readyz, resources, non-root);
 * and the ConfigMap's relay.yaml is a config the relay accepts, reading its secrets where the Secret is mounted.
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
      'Deployment/prom-relay',
      'Namespace/prom-relay',
      'PodDisruptionBudget/prom-relay',
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
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    for (const d of docs) if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind} namespace`).toBe('prom-relay');
    const deployment = docs.find((d) => d.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers[0].image).toBe('registry.example.com/prom-relay:0.1.0');
  }, BUILD_TIMEOUT);

  it('refuses unknown, duplicate and mistyped fields, and a Service selecting no pod (the check catches what it claims)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-relay-k8s-'));
    const deployment = readFileSync(join(K8S, 'deployment.yaml'), 'utf8');
    const cases: [string, string, RegExp][] = [
      ['unknown', deployment.replace('  revisionHistoryLimit: 5\n', '  revisionHistoryLimit: 5\n  replica: 2\n'), /unknown field "replica"/],
      ['duplicate', deployment.replace('  revisionHistoryLimit: 5\n', '  revisionHistoryLimit: 5\n  replicas: 2\n'), /"replicas" already set/],
      ['mistyped', deployment.replace('containerPort: 9464', 'containerPort: "9464"'), /cannot unmarshal string/],
      ['probe', deployment.replace('path: /readyz', 'path: /ready'), /readiness probe on \/ready, want \/readyz/],
      ['limits', deployment.replace(/            limits:\n              cpu: "2"\n/, '            limits:\n'), /no cpu limit/],
    ];
    for (const [name, text, error] of cases) {
      expect(text, name).not.toBe(deployment);
      writeFileSync(join(dir, 'deployment.yaml'), text);
      const others = manifests().filter((f) => f !== 'deployment.yaml').map((f) => join(K8S, f));
      const r = await check([...others, join(dir, 'deployment.yaml')]);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(error);
    }
    const service = readFileSync(join(K8S, 'service.yaml'), 'utf8').replace('app.kubernetes.io/component: relay\n  ports', 'app.kubernetes.io/component: ingest\n  ports');
    writeFileSync(join(dir, 'service.yaml'), service);
    const r = await check([...manifests().filter((f) => f !== 'service.yaml').map((f) => join(K8S, f)), join(dir, 'service.yaml')]);
    expect(r.stderr).toMatch(/Service prom-relay: its selector .* matches no workload's pods/);
  }, BUILD_TIMEOUT);

  it("holds a relay.yaml the relay accepts, reading its secrets from the Secret's mount, on the probed port", () => {
    const deployment = load('deployment.yaml');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const configText: string = load('configmap.yaml').data['relay.yaml'];
    const secret = load('secret.example.yaml');
    // Where the pod mounts the Secret, each of its keys is a file: write them to a folder standing for that mount.
    const secretVolume = pod.volumes.find((v: any) => v.secret?.secretName === secret.metadata.name);
    const mountPath: string = container.volumeMounts.find((m: any) => m.name === secretVolume.name).mountPath;
    const standIn = mkdtempSync(join(tmpdir(), 'prom-relay-secrets-'));
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) writeFileSync(join(standIn, key), `${value}\n`);
    const config = loadConfig({ text: configText.replaceAll(`${mountPath}/`, `${standIn}/`), env: {} });
    expect(configText).toContain(`password_file: ${mountPath}/remote-write-password`);
    expect(config.remote_write.password).toBe(secret.stringData['remote-write-password']);
    expect(config.ingest.password).toBe(secret.stringData['ingest-password']);
    // The config the container reads is the ConfigMap's key, at the path PROM_RELAY_CONFIG names.
    const configMount = container.volumeMounts.find((m: any) => m.name === 'config');
    expect(container.env.find((e: any) => e.name === 'PROM_RELAY_CONFIG').value).toBe(configMount.mountPath);
    expect(configMount.subPath).toBe('relay.yaml');
    // Probes and the Service reach the port the relay listens on; the pod outlives the relay's shutdown deadline.
    expect(container.ports.find((p: any) => p.name === 'http').containerPort).toBe(config.server.port);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdown.timeout);
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(config.server.port));
  }, 30_000);
});
