import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureKafkaJars, kafkaJarsCached, KAFKA_VERSION } from '@prom-relay/infra';
import { REPO_ROOT } from '../../src/paths.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'infra-prereq-'));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('missing prerequisites give a clear, coded error', () => {
  it('no Java: PROM_RELAY_INFRA_JAVA_MISSING naming what to install', async () => {
    const script = [
      "import { startKafka } from '@prom-relay/infra';",
      'try { await startKafka(); console.log("started"); } catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }',
    ].join('\n');
    const env = { ...process.env, PATH: '/nonexistent', JAVA_HOME: '' };
    const output = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, env });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('close', () => resolve(out));
    });
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { code?: string; message?: string };
    expect(result.code).toBe('PROM_RELAY_INFRA_JAVA_MISSING');
    expect(result.message).toContain('Java 17+');
    expect(result.message).toContain('openjdk-17-jre-headless');
  }, 30_000);

  it('no Maven and no cached jars: PROM_RELAY_INFRA_MAVEN_MISSING', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(ensureKafkaJars({ cacheDir: tempDir() })).rejects.toMatchObject({
        code: 'PROM_RELAY_INFRA_MAVEN_MISSING',
        message: expect.stringContaining('apt-get install -y maven'),
      });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('no network to Maven Central: PROM_RELAY_INFRA_JARS_UNAVAILABLE and no half-filled cache', async () => {
    // A mirror on a closed loopback port stands in for a machine without network.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const settings = join(tempDir(), 'settings.xml');
    writeFileSync(
      settings,
      `<settings><mirrors><mirror><id>offline</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:${closed}/maven2</url></mirror></mirrors></settings>`,
    );
    const cacheDir = tempDir();
    const err = await ensureKafkaJars({ cacheDir, mavenSettings: settings, mavenRepoLocal: tempDir() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROM_RELAY_INFRA_JARS_UNAVAILABLE', message: expect.stringContaining('no network to Maven Central') });
    expect(kafkaJarsCached(cacheDir)).toBe(false);
    expect(KAFKA_VERSION).toMatch(/^4\.1\.\d+$/);
  }, 60_000);
});
