// Guards issue 13: the packages other teams reuse must install on their own from `npm pack` tarballs (each with only
// its published @prom-relay dependencies), say they are ESM-only with a CommonJS recipe that works, and carry the
// metadata a registry shows (description, engines, repository, license with the LICENSE text).
// Each package is packed, installed into a fresh folder outside the workspace, used from ESM, from CommonJS (the
// README's snippet, run as written, and require()) and type-checked by a strict TypeScript project (node16, bundler).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPushgateway, type PushgatewayServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequestSnappy } from '../../src/index.js';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'prom-relay-install-alone-'));

interface Manifest {
  name: string;
  version: string;
  description?: string;
  keywords?: string[];
  license?: string;
  engines?: { node?: string };
  repository?: { type?: string; url?: string; directory?: string };
  files?: string[];
  dependencies?: Record<string, string>;
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest & { repository: { url: string } };

const PACKAGES = ['packages/codec', 'packages/push-client', 'packages/emitter'].map((dir) => {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;
  const internal = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@prom-relay/'));
  return { dir, manifest, internal };
});
const byName = new Map(PACKAGES.map((p) => [p.manifest.name, p]));

/** The user's npm settings (cache, registry, config files) stay; what `npm test` exports about the workspace goes. */
const NPM_KEEP = /^npm_config_(cache|registry|userconfig|globalconfig)$/i;

/** npm run from inside the workspace (npm test) exports npm_* variables that would point npm back at the workspace. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || NPM_KEEP.test(k)) env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Sources newer than their compiled output: packing those would test yesterday's code. */
function staleSources(dir: string): string[] {
  const src = join(root, dir, 'src');
  return walk(src)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .filter((f) => {
      const out = join(root, dir, 'dist', relative(src, f)).replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(f).mtimeMs;
    });
}

/** The README's CommonJS snippet (the js block under "## ESM only") and the output its console.log comment promises. */
function readmeSnippet(dir: string): { code: string; expected: string } {
  const readme = readFileSync(join(root, dir, 'README.md'), 'utf8');
  const section = /^## ESM only\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  expect(section, `${dir}/README.md has an "## ESM only" section`).toBeDefined();
  expect(section).toMatch(/Node\.js 20\.19/);
  const code = /```js\n([\s\S]*?)```/.exec(section!)?.[1];
  expect(code, `${dir}/README.md shows CommonJS use in a js block`).toBeDefined();
  expect(code).toMatch(/await import\(/);
  const expected = /console\.log\(.*\); \/\/ (.*)$/m.exec(code!)?.[1];
  expect(expected, 'the console.log line says what it prints').toBeDefined();
  return { code: code!, expected: expected! };
}

// What each package's consumer does from ESM, and the strict TypeScript it must type-check.
const ESM: Record<string, string> = {
  '@prom-relay/codec': `import { decodeWriteRequestSnappy, encodeWriteRequestSnappy } from '@prom-relay/codec';
const body = encodeWriteRequestSnappy({ timeseries: [{ labels: { pkg: 'codec', __name__: 'installed_alone' }, samples: [{ value: 42, timestamp: 1700000000000 }] }] });
console.log(JSON.stringify(decodeWriteRequestSnappy(body).timeseries));
`,
  '@prom-relay/push-client': `import { Pushgateway } from '@prom-relay/push-client';
import { Counter, Registry } from 'prom-client';
const registry = new Registry();
new Counter({ name: 'installed_alone_total', help: 'Pushed from a consumer that installed only the tarballs.', registers: [registry] }).inc(3);
const result = await new Pushgateway(process.env.PGW_URL, 'installed-alone').grouping('instance', 'tmp').collector(registry).push();
console.log(result.status);
`,
  '@prom-relay/emitter': `import { createEmitter } from '@prom-relay/emitter';
const emitter = createEmitter({ brokers: process.env.KAFKA_BROKERS.split(','), topic: process.env.KAFKA_TOPIC });
emitter.emit([{ name: 'installed_alone_total', type: 'counter', value: 5 }], { job: 'installed-alone' });
const closed = await emitter.close(15_000);
console.log(JSON.stringify({ ...closed, sent: emitter.stats().sent }));
`,
};

// Each has a @ts-expect-error that only holds when the package's real types were found (an `any` would not error).
const TS: Record<string, string> = {
  '@prom-relay/codec': `import { encodeWriteRequestSnappy, type WriteRequest } from '@prom-relay/codec';
const req: WriteRequest = { timeseries: [{ labels: { __name__: 'up' }, samples: [{ value: 1, timestamp: 0 }] }] };
export const body: Uint8Array = encodeWriteRequestSnappy(req);
// @ts-expect-error a WriteRequest needs timeseries
encodeWriteRequestSnappy({});
`,
  '@prom-relay/push-client': `import { RemoteWriteClient, type WriteResult } from '@prom-relay/push-client';
import { startTestReceiver } from '@prom-relay/push-client/testing';
const client = new RemoteWriteClient({ url: 'http://localhost:9090/api/v1/write' });
export const result: Promise<WriteResult> = client.write([{ labels: { __name__: 'up' }, samples: [{ value: 1, timestamp: 0 }] }]);
export const receiver = startTestReceiver;
// @ts-expect-error url is required
new RemoteWriteClient({});
`,
  '@prom-relay/emitter': `import { createEmitter, type EmitterOptions } from '@prom-relay/emitter';
const options: EmitterOptions = { brokers: ['localhost:9092'], topic: 'prom-relay.metrics' };
export const emitter = createEmitter(options);
// @ts-expect-error brokers are host:port strings
createEmitter({ brokers: [9092] });
`,
};

const TSCONFIG = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

describe('packages other teams reuse install and work on their own', () => {
  const tarballs = new Map<string, string>();
  const installs = new Map<string, { dir: string; install: Run; mode: string }>();
  let pgw: PushgatewayServer;
  let kafkaTopic: string;

  beforeAll(async () => {
    const started = Date.now();
    const stale = PACKAGES.flatMap((p) => staleSources(p.dir));
    if (stale.length > 0) {
      // `npm test` builds first; a targeted run after an edit gets the same build here.
      const build = spawnSync('npx', ['turbo', 'run', 'build', ...PACKAGES.map((p) => `--filter=${p.manifest.name}`), '--output-logs=errors-only'], {
        cwd: root,
        env: cleanEnv({ TURBO_TELEMETRY_DISABLED: '1' }),
        encoding: 'utf8',
      });
      if (build.status !== 0) throw new Error(`build failed (stale: ${stale.map((f) => relative(root, f)).join(', ')}):\n${build.stdout}${build.stderr}`);
    }
    const packDir = join(work, 'tarballs');
    mkdirSync(packDir);
    for (const p of PACKAGES) {
      const packed = await run('npm', ['pack', '--json', '--pack-destination', packDir], join(root, p.dir));
      expect(packed.status, packed.stderr).toBe(0);
      const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      const files = info!.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
      expect(files.filter((f) => f.startsWith('test/') || f.includes('node_modules'))).toEqual([]);
      tarballs.set(p.manifest.name, join(packDir, info!.filename));
    }
    // Each consumer gets one package plus its own @prom-relay dependencies, nothing else from the workspace.
    await Promise.all(
      PACKAGES.map(async (p) => {
        const dir = join(work, p.manifest.name.replace('@prom-relay/', ''));
        mkdirSync(dir);
        writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
        const args = ['install', '--no-audit', '--no-fund', ...[p.manifest.name, ...p.internal].map((n) => tarballs.get(n)!)];
        // Offline from the npm cache when it holds every dependency; else the registry fills it once.
        let install = await run('npm', [...args, '--offline'], dir);
        let mode = 'offline';
        if (install.status !== 0) {
          install = await run('npm', [...args, '--prefer-offline'], dir);
          mode = 'prefer-offline';
        }
        installs.set(p.manifest.name, { dir, install, mode });
      }),
    );
    const took = (Date.now() - started) / 1000;
    console.log(`${stale.length > 0 ? `built (${stale.length} stale sources), ` : ''}packed and installed in ${took.toFixed(1)} s (${[...installs].map(([n, i]) => `${n}: ${i.mode}`).join(', ')})`);
    pgw = await startPushgateway();
    kafkaTopic = await createTestTopic({ prefix: 'installed-alone', partitions: 1 });
  }, 120_000);

  afterAll(async () => {
    await pgw?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it.each(PACKAGES.map((p) => [p.manifest.name, p] as const))('%s declares what a registry shows', (_name, p) => {
    const m = p.manifest;
    expect(m.description?.length).toBeGreaterThan(20);
    expect(m.keywords).toContain('prometheus');
    expect(m.license).toBe('Apache-2.0');
    expect(m.engines?.node).toBe('>=20.19');
    expect(m.repository).toEqual({ type: 'git', url: rootManifest.repository.url, directory: p.dir });
    expect(readFileSync(join(root, p.dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
    for (const dep of p.internal) expect(byName.has(dep), `${dep} is packed too`).toBe(true);
  });

  it.each(PACKAGES.map((p) => [p.manifest.name] as const))('%s installs from its tarball alone', (name) => {
    const { dir, install, mode } = installs.get(name)!;
    expect(install.status, `npm install (${mode}): ${install.stderr}`).toBe(0);
    const ours = readdirSync(join(dir, 'node_modules/@prom-relay')).sort();
    expect(ours).toEqual([name, ...byName.get(name)!.internal].map((n) => n.replace('@prom-relay/', '')).sort());
  });

  it('@prom-relay/codec: ESM import and call, and the installed prom-codec bin', async () => {
    const { dir } = installs.get('@prom-relay/codec')!;
    writeFileSync(join(dir, 'esm.mjs'), ESM['@prom-relay/codec']!);
    const esm = await run(process.execPath, ['esm.mjs'], dir);
    expect(esm.stderr).toBe('');
    expect(JSON.parse(esm.stdout)).toEqual([{ labels: { __name__: 'installed_alone', pkg: 'codec' }, samples: [{ value: 42, timestamp: 1700000000000 }] }]);

    const bin = join(dir, 'node_modules/.bin/prom-codec');
    const version = await run(bin, ['--version'], dir);
    expect(version).toMatchObject({ status: 0, stdout: `prom-codec ${byName.get('@prom-relay/codec')!.manifest.version}\n` });
    const encoded = spawnSync(bin, ['encode'], { cwd: dir, env: cleanEnv(), input: '{"timeseries":[{"labels":{"__name__":"up","job":"x"},"samples":[{"value":1,"timestamp":5}]}]}' });
    expect(encoded.status, encoded.stderr.toString()).toBe(0);
    expect(decodeWriteRequestSnappy(encoded.stdout).timeseries[0]!.labels).toEqual({ __name__: 'up', job: 'x' });
  }, 30_000);

  it('@prom-relay/push-client: ESM import, then a push to a real Pushgateway', async () => {
    const { dir } = installs.get('@prom-relay/push-client')!;
    writeFileSync(join(dir, 'esm.mjs'), ESM['@prom-relay/push-client']!);
    const esm = await run(process.execPath, ['esm.mjs'], dir, { env: { PGW_URL: pgw.url } });
    expect(esm.stderr).toBe('');
    expect(esm.stdout).toBe('success\n');
    const scraped = await (await fetch(`${pgw.url}/metrics`)).text();
    expect(scraped).toMatch(/^installed_alone_total\{instance="tmp",job="installed-alone"\} 3$/m);
  }, 30_000);

  it('@prom-relay/emitter: ESM import, then an emit that the real broker acknowledges', async () => {
    const { dir } = installs.get('@prom-relay/emitter')!;
    writeFileSync(join(dir, 'esm.mjs'), ESM['@prom-relay/emitter']!);
    const esm = await run(process.execPath, ['esm.mjs'], dir, { env: { KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC: kafkaTopic } });
    expect(esm.status, esm.stderr).toBe(0);
    expect(JSON.parse(esm.stdout)).toEqual({ flushed: true, dropped: 0, sent: 1 });
  }, 30_000);

  it.each(PACKAGES.map((p) => [p.manifest.name, p] as const))('%s from CommonJS: the README snippet as written, and require()', async (name, p) => {
    const { dir } = installs.get(name)!;
    const { code, expected } = readmeSnippet(p.dir);
    writeFileSync(join(dir, 'readme.cjs'), code);
    const snippet = await run(process.execPath, ['readme.cjs'], dir, { env: { KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC: kafkaTopic } });
    expect(snippet.stderr).toBe('');
    expect(snippet.stdout.trim()).toBe(expected);

    const esm = await run(process.execPath, ['--input-type=module', '-e', `import * as m from ${JSON.stringify(name)}; console.log(JSON.stringify(Object.keys(m).sort()));`], dir);
    const exported = JSON.parse(esm.stdout) as string[];
    expect(exported.length).toBeGreaterThan(3);
    writeFileSync(join(dir, 'require.cjs'), `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(name)})).sort()));\n`);
    const required = await run(process.execPath, ['require.cjs'], dir);
    expect(required.stderr).toBe('');
    expect(JSON.parse(required.stdout)).toEqual(exported);
  }, 30_000);

  it.each(PACKAGES.map((p) => [p.manifest.name] as const))('%s type-checks in a strict TypeScript project (node16 and bundler)', async (name) => {
    const { dir } = installs.get(name)!;
    writeFileSync(join(dir, 'consumer.ts'), TS[name]!);
    const results = await Promise.all(
      Object.entries(TSCONFIG).map(async ([mode, resolution]) => {
        const config = {
          compilerOptions: {
            ...resolution,
            target: 'ES2022',
            strict: true,
            noEmit: true,
            // as most consumers set it (tsc --init does); the @ts-expect-error lines prove the package's types were read
            skipLibCheck: true,
            // the consumer's own @types/node; everything else resolves from this folder only
            typeRoots: [join(root, 'node_modules/@types')],
            types: ['node'],
          },
          files: ['consumer.ts'],
        };
        writeFileSync(join(dir, `tsconfig.${mode}.json`), JSON.stringify(config));
        return { mode, res: await run(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], dir) };
      }),
    );
    for (const { mode, res } of results) expect(res.stdout + res.stderr, `tsc (${mode})`).toBe('');
  }, 60_000);
});
