import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureKafkaJars, KAFKA_VERSION, kafkaJarsCached, kafkaLibsDir } from '@prom-relay/infra';

describe('ensureKafkaJars', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'infra-jars-'));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('two concurrent resolutions into an empty cache both end with one complete classpath', async () => {
    expect(kafkaJarsCached(cacheDir)).toBe(false);
    const [a, b] = await Promise.all([ensureKafkaJars({ cacheDir }), ensureKafkaJars({ cacheDir })]);
    expect(a).toBe(kafkaLibsDir(cacheDir));
    expect(b).toBe(a);
    expect(kafkaJarsCached(cacheDir)).toBe(true);
    const jars = readdirSync(a);
    // The broker, its clients, and the log4j2 binding that makes it log.
    expect(jars).toEqual(expect.arrayContaining([`kafka_2.13-${KAFKA_VERSION}.jar`, `kafka-clients-${KAFKA_VERSION}.jar`, expect.stringMatching(/^log4j-slf4j-impl-.*\.jar$/)]));
    // No staging folder is left behind.
    expect(readdirSync(join(cacheDir, KAFKA_VERSION))).toEqual(['libs']);
    expect(existsSync(join(a, '.complete'))).toBe(true);
  }, 120_000);

  it('returns the cached folder without running Maven', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(ensureKafkaJars({ cacheDir })).resolves.toBe(kafkaLibsDir(cacheDir));
    } finally {
      process.env.PATH = saved;
    }
  });
});
