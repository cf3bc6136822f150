/**
 * deploy/container/Containerfile, checked without a container engine (none runs here, so the image itself is never
 * built): hadolint finds nothing; the stages are wired right (every COPY source exists in the context and is not
 * ignored, every workspace manifest reaches `npm ci`, the runtime stage runs as a numeric non-root user with a
 * HEALTHCHECK on /healthz); and the runtime stage's file tree, assembled here as its COPY lines say (the build
 * stage's turbo build and the prod-deps stage's `npm ci --omit=dev` run for real), starts the relay against the test
 * Kafka with the image's ENTRYPOINT, CMD and ENV, and its HEALTHCHECK command passes, then fails once it stopped.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { freePort } from '@prom-relay/infra';
import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { describe, expect, it } from 'vitest';
import { writeRelayConfig } from '../e2e/harness.js';
import { copies, ignored, parseContainerfile, type Stage } from './containerfile.js';
import { DEPLOY, hadolint, REPO, run } from './tools.js';

const FILE = join(DEPLOY, 'container/Containerfile');
const text = readFileSync(FILE, 'utf8');
const { stages } = parseContainerfile(text);
const runtime = stages.at(-1)!;
const stage = (name: string): Stage => stages.find((s) => s.name === name) ?? (() => { throw new Error(`no stage ${name}`); })();
const json = (stageOf: Stage, op: string): string[] => JSON.parse(stageOf.instructions.find((i) => i.op === op)!.args) as string[];
/** Every workspace's package.json, as the root package.json lists them. */
const workspaceManifests = (): string[] =>
  (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.flatMap((w) => {
    if (!w.endsWith('/*')) return [`${w}/package.json`];
    const base = w.slice(0, -2);
    return readdirSync(join(REPO, base), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(REPO, base, d.name, 'package.json')))
      .map((d) => `${base}/${d.name}/package.json`);
  });
/** Where a COPY puts one source, as a path inside the stage's WORKDIR. */
const destOf = (src: string, dest: string): string => (dest.endsWith('/') ? posix.join(dest, posix.basename(src)) : posix.normalize(dest));

describe('deploy/container/Containerfile', () => {
  it('passes hadolint', async () => {
    const r = await run(hadolint(), ['--no-color', FILE]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it('builds in stages: every COPY source is in the context and not ignored, every workspace manifest reaches npm ci', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', undefined]);
    const ignore = readFileSync(join(DEPLOY, 'container/Containerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const problems: string[] = [];
    stages.forEach((s, i) => {
      for (const c of copies(s)) {
        if (c.from !== undefined) {
          const j = stages.findIndex((t) => t.name === c.from);
          if (j < 0 || j >= i) problems.push(`line ${c.line}: --from=${c.from} is not an earlier stage`);
          continue;
        }
        for (const src of c.sources) {
          if (!existsSync(join(REPO, src))) problems.push(`line ${c.line}: ${src} is not in the build context (the repository root)`);
          else if (ignored(src, ignore)) problems.push(`line ${c.line}: ${src} is excluded by Containerfile.dockerignore`);
        }
      }
    });
    expect(problems).toEqual([]);
    // npm ci refuses a workspace whose package.json is missing: both install stages copy every one before it runs.
    for (const name of ['build', 'prod-deps']) {
      const s = stage(name);
      const ci = s.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      expect(ci, `${name} runs npm ci`).toBeGreaterThan(0);
      const before = copies({ ...s, instructions: s.instructions.slice(0, ci) }).flatMap((c) => c.sources.map((src) => destOf(src, c.dest)));
      for (const m of [...workspaceManifests(), 'package.json', 'package-lock.json']) expect(before, `${name} copies ${m} before npm ci`).toContain(m);
    }
    expect(stage('prod-deps').instructions.find((i) => i.op === 'RUN')!.args).toMatch(/npm ci --omit=dev/);
  });

  it('runs as a numeric non-root user, with a HEALTHCHECK on /healthz and the relay on its default port', () => {
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)!.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    const health = runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!;
    expect(health.args).toContain('/healthz');
    expect(runtime.instructions.find((i) => i.op === 'EXPOSE')!.args).toBe('9464');
    expect(json(runtime, 'ENTRYPOINT')[0]).toBe('node');
    expect(json(runtime, 'CMD')).toEqual(['run']);
  });

  it('has a runtime tree that starts the relay from compiled code with production dependencies only, and whose HEALTHCHECK tells', async () => {
    const tree = await runtimeTree();
    for (const dev of ['typescript', 'vitest', 'turbo', 'tsx', 'protobufjs']) expect(existsSync(join(tree, 'node_modules', dev)), dev).toBe(false);
    const workdir = runtime.instructions.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
    const inTree = (args: string[]) => args.map((a) => a.replace(workdir, tree));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tmpdir() };
    for (const e of runtime.instructions.filter((i) => i.op === 'ENV')) {
      const [k, v] = e.args.split('=');
      env[k!] = v;
    }
    const [node, ...entry] = inTree(json(runtime, 'ENTRYPOINT'));
    const version = await run(node!, [...entry, '--version'], { env, cwd: tree });
    const pkg = JSON.parse(readFileSync(join(REPO, 'apps/relay/package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toContain(`prom-relay ${pkg.version}`);

    const port = await freePort();
    const config = writeRelayConfig({
      brokers: testKafkaBrokers(),
      topic: testTopicName('image'),
      groupId: testTopicName('image-group'),
      dlqTopic: testTopicName('image-dlq'),
      checkpointTopic: testTopicName('image-checkpoints'),
      remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    });
    const runEnv = { ...env, PROM_RELAY_CONFIG: config, PROM_RELAY_SERVER__PORT: String(port) };
    const health = JSON.parse(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!.args.replace(/^.*?\bCMD\s+/, '')) as string[];
    const healthcheck = () => run(health[0]!, health.slice(1), { env: runEnv, cwd: tree, timeoutMs: 10_000 });
    expect((await healthcheck()).code, 'healthcheck before the relay runs').toBe(1);

    const relay = spawn(node!, [...entry, ...json(runtime, 'CMD')], { env: runEnv, cwd: tree, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    relay.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    relay.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((res) => relay.once('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('"relay started"') && relay.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(output, 'relay started from the runtime tree').toContain('"relay started"');
      const ok = await healthcheck();
      expect(ok.code, ok.stderr).toBe(0);
    } finally {
      relay.kill('SIGTERM');
    }
    expect(await exited, output.slice(-2000)).toBe(0);
    expect((await healthcheck()).code, 'healthcheck after the relay stopped').toBe(1);
  }, 300_000);
});

/**
 * The runtime stage's files, assembled as its COPY lines say: `--from=build /src/X` is the repository's X after the
 * build stage's RUN (turbo build); `--from=prod-deps /src/X` is X in a folder holding what the prod-deps stage copies,
 * after its RUN (`npm ci --omit=dev`, cached outside the repository per lockfile); context paths are the repository's.
 */
async function runtimeTree(): Promise<string> {
  const build = stage('build');
  const buildRun = build.instructions.filter((i) => i.op === 'RUN').at(-1)!.args;
  expect(buildRun).toMatch(/^npx turbo run build /);
  const built = await run('sh', ['-c', buildRun], { cwd: REPO, timeoutMs: 240_000, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
  expect(built.code, built.stdout + built.stderr).toBe(0);

  const prod = stage('prod-deps');
  const prodCopies = copies(prod);
  const prodRun = prod.instructions.find((i) => i.op === 'RUN')!.args;
  const hash = createHash('sha256').update(prodRun);
  for (const c of prodCopies) for (const s of c.sources) hash.update(s).update(readFileSync(join(REPO, s)));
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'prom-relay', 'image-prod-deps', hash.digest('hex').slice(0, 16));
  if (!existsSync(join(cache, 'node_modules'))) {
    const partial = `${cache}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    for (const c of prodCopies) for (const s of c.sources) cpSync(join(REPO, s), join(partial, destOf(s, c.dest)));
    const installed = await run('sh', ['-c', prodRun], { cwd: partial, timeoutMs: 240_000 });
    expect(installed.code, installed.stderr).toBe(0);
    mkdirSync(dirname(cache), { recursive: true });
    try {
      renameSync(partial, cache);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another run got there first
    }
  }

  const tree = mkdtempSync(join(tmpdir(), 'prom-relay-image-'));
  for (const c of copies(runtime)) {
    for (const src of c.sources) {
      const from = c.from === 'build' ? join(REPO, src.replace(/^\/src\//, '')) : c.from === 'prod-deps' ? join(cache, src.replace(/^\/src\//, '')) : join(REPO, src);
      // a folder source (`dist/`) lands as the destination folder itself, a file beside the others in it
      const dest = src.endsWith('/') ? join(tree, c.dest) : join(tree, destOf(src, c.dest));
      cpSync(from, dest, { recursive: true, verbatimSymlinks: true });
    }
  }
  return tree;
}
