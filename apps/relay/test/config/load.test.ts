import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfig, loadConfig, parseDuration } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { AGGREGATOR_HEAP_GROWING_PERCENT, AGGREGATOR_SEMI_SPACE_MIB } from '../../src/heap/small-heap.js';

function issuesOf(fn: () => unknown): { path: string; message: string; source?: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('PROM_RELAY_CONFIG_INVALID');
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default from an empty file', () => {
    const c = loadConfig({ text: '', env: {} });
    expect(c.kafka.brokers).toEqual(['localhost:9092']);
    expect(c.kafka.topics).toEqual(['prom-relay.metrics']);
    expect(c.kafka.dlq_topic).toBe('prom-relay.dlq');
    expect(c.kafka.checkpoint_topic).toBe('prom-relay.checkpoints');
    expect(c.flush.interval).toBe(10_000);
    expect(c.aggregation.series_ttl).toBe(300_000);
    expect(c.kafka.ssl.enabled).toBe(false);
    expect(c.server.port).toBe(9464);
    expect(c.remote_write.url).toBe('http://localhost:9090/api/v1/write');
  });

  it('parses durations in every unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('10 parsecs')).toBeUndefined();
  });

  it('names the key path of every error at once', () => {
    const issues = issuesOf(() =>
      loadConfig({
        text: 'flush:\n  interval: soon\nremote_write:\n  url: not a url\nkafka:\n  brokers: []\n  bogus: 1\n',
        env: {},
      }),
    );
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual(['flush.interval', 'kafka.bogus', 'kafka.brokers', 'remote_write.url']);
    expect(issues.find((i) => i.path === 'flush.interval')!.message).toMatch(/duration/);
    expect(issues.find((i) => i.path === 'kafka.bogus')!.message).toBe('unknown key');
  });

  it('lets env variables override keys, coercing numbers, booleans and lists', () => {
    const c = loadConfig({
      text: 'remote_write:\n  url: http://a:9090/api/v1/write\n',
      env: {
        PROM_RELAY_REMOTE_WRITE__URL: 'http://b:9090/api/v1/write',
        PROM_RELAY_KAFKA__BROKERS: 'k1:9092, k2:9092',
        PROM_RELAY_SERVER__PORT: '8080',
        PROM_RELAY_KAFKA__SSL__ENABLED: 'true',
        PROM_RELAY_FLUSH__INTERVAL: '500ms',
        PROM_RELAY_CONFIG: '/etc/ignored-not-a-section.yaml',
      },
    });
    expect(c.remote_write.url).toBe('http://b:9090/api/v1/write');
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.server.port).toBe(8080);
    expect(c.kafka.ssl.enabled).toBe(true);
    expect(c.flush.interval).toBe(500);
  });

  it('names the env variable when an override is invalid', () => {
    const issues = issuesOf(() => loadConfig({ text: '', env: { PROM_RELAY_SERVER__PORT: 'eighty' } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('server.port');
    expect(issues[0]!.source).toBe('env PROM_RELAY_SERVER__PORT');
  });

  it('reads secrets from files and masks them when printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
    writeFileSync(join(dir, 'pw'), 's3cret-from-file\n');
    const c = loadConfig({
      text: `remote_write:\n  username: app\n  password_file: ${join(dir, 'pw')}\n  headers:\n    Authorization: Bearer abc\n    X-Scope: team\n`,
      env: { PROM_RELAY_INGEST__USERNAME: 'pusher', PROM_RELAY_INGEST__PASSWORD: 'env-secret' },
    });
    expect(c.remote_write.password).toBe('s3cret-from-file');
    expect(c.ingest.password).toBe('env-secret');
    const printed = formatConfig(c);
    expect(printed).not.toContain('s3cret-from-file');
    expect(printed).not.toContain('env-secret');
    expect(printed).not.toContain('Bearer abc');
    expect(printed).toContain('X-Scope: team');
    expect(printed).toContain('<masked>');
    // The config object itself still holds the real secret.
    expect(c.remote_write.headers.Authorization).toBe('Bearer abc');
  });

  it('takes several ingest credentials and bearer tokens, from files too, and masks every one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
    writeFileSync(join(dir, 'team-b'), 'team-b-pass\n');
    writeFileSync(join(dir, 'token'), 'tok-from-file\n');
    const c = loadConfig({
      text: [
        'ingest:',
        '  credentials:',
        '    - { username: team-a, password: team-a-pass }',
        `    - { username: team-b, password_file: ${join(dir, 'team-b')} }`,
        '  bearer_tokens: [tok-inline]',
        `  bearer_token_files: [${join(dir, 'token')}]`,
      ].join('\n'),
      env: {},
    });
    expect(c.ingest.credentials.map((x) => [x.username, x.password])).toEqual([['team-a', 'team-a-pass'], ['team-b', 'team-b-pass']]);
    expect(c.ingest.bearer_tokens).toEqual(['tok-inline', 'tok-from-file']);
    const printed = formatConfig(c);
    for (const secret of ['team-a-pass', 'team-b-pass', 'tok-inline', 'tok-from-file']) expect(printed).not.toContain(secret);
    expect(printed).toContain('team-b');
    const issues = issuesOf(() => loadConfig({ text: 'ingest:\n  credentials:\n    - { username: x }\n', env: {} }));
    expect(issues.map((i) => i.path)).toEqual(['ingest.credentials.0.password']);
  });

  it('reports an unreadable secret file and a half-set basic auth', () => {
    const issues = issuesOf(() =>
      loadConfig({ text: 'remote_write:\n  username: app\n  password_file: /nonexistent/pw\n', env: {} }),
    );
    expect(issues.map((i) => i.path)).toContain('remote_write.password_file');
    expect(issues.map((i) => i.path)).toContain('remote_write.password');
  });

  it('rejects a file that is not YAML with PROM_RELAY_CONFIG_FILE', () => {
    expect(() => loadConfig({ text: 'a: [1, 2', env: {} })).toThrow(expect.objectContaining({ code: 'PROM_RELAY_CONFIG_FILE' }));
    expect(() => loadConfig({ file: '/nonexistent/relay.yaml', env: {} })).toThrow(
      expect.objectContaining({ code: 'PROM_RELAY_CONFIG_FILE' }),
    );
  });

  it('accepts only absolute http(s) remote write URLs', () => {
    for (const url of ['localhost:9090/api/v1/write', 'ftp://prom/api/v1/write', '/api/v1/write', 'http://']) {
      const issues = issuesOf(() => loadConfig({ text: `remote_write:\n  url: "${url}"\n`, env: {} }));
      expect(issues.map((i) => i.path)).toEqual(['remote_write.url']);
      expect(issues[0]!.message).toContain('http:// or https://');
    }
    expect(loadConfig({ text: 'remote_write:\n  url: https://prom.example/api/v1/prom/write\n', env: {} }).remote_write.url).toBe(
      'https://prom.example/api/v1/prom/write',
    );
  });

  it('reads protocol 2.0 and 1.0 written as YAML numbers (or env strings) as the version strings', () => {
    expect(loadConfig({ text: 'remote_write:\n  protocol: 2.0\n', env: {} }).remote_write.protocol).toBe('2.0');
    expect(loadConfig({ text: 'remote_write:\n  protocol: 1.0\n', env: {} }).remote_write.protocol).toBe('1.0');
    expect(loadConfig({ text: '', env: { PROM_RELAY_REMOTE_WRITE__PROTOCOL: '2.0' } }).remote_write.protocol).toBe('2.0');
    expect(loadConfig({ text: 'remote_write:\n  protocol: auto\n', env: {} }).remote_write.protocol).toBe('auto');
    const issues = issuesOf(() => loadConfig({ text: 'remote_write:\n  protocol: 3\n', env: {} }));
    expect(issues).toEqual([expect.objectContaining({ path: 'remote_write.protocol', message: 'expected 1.0, 2.0 or auto; got 3' })]);
  });

  it('sends metadata unless remote_write.send_metadata is false (file or env)', () => {
    expect(loadConfig({ text: '', env: {} }).remote_write.send_metadata).toBe(true);
    expect(loadConfig({ text: 'remote_write:\n  send_metadata: false\n', env: {} }).remote_write.send_metadata).toBe(false);
    expect(loadConfig({ text: '', env: { PROM_RELAY_REMOTE_WRITE__SEND_METADATA: 'false' } }).remote_write.send_metadata).toBe(false);
    const issues = issuesOf(() => loadConfig({ text: 'remote_write:\n  send_metadata: maybe\n', env: {} }));
    expect(issues.map((i) => i.path)).toEqual(['remote_write.send_metadata']);
  });

  it('keeps the aggregator heap policy unless aggregation.heap_growing_percent is 0 (file or env)', () => {
    expect(loadConfig({ text: '', env: {} }).aggregation.heap_growing_percent).toBe(AGGREGATOR_HEAP_GROWING_PERCENT);
    expect(loadConfig({ text: 'aggregation:\n  heap_growing_percent: 0\n', env: {} }).aggregation.heap_growing_percent).toBe(0);
    expect(loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__HEAP_GROWING_PERCENT: '100' } }).aggregation.heap_growing_percent).toBe(100);
    const issues = issuesOf(() => loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__HEAP_GROWING_PERCENT: '-5' } }));
    expect(issues.map((i) => [i.path, i.source])).toEqual([['aggregation.heap_growing_percent', 'env PROM_RELAY_AGGREGATION__HEAP_GROWING_PERCENT']]);
  });

  it('caps the aggregator young generation at aggregation.semi_space_mib, 0 for V8 own growth (file or env)', () => {
    expect(loadConfig({ text: '', env: {} }).aggregation.semi_space_mib).toBe(AGGREGATOR_SEMI_SPACE_MIB);
    expect(loadConfig({ text: 'aggregation:\n  semi_space_mib: 0\n', env: {} }).aggregation.semi_space_mib).toBe(0);
    expect(loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__SEMI_SPACE_MIB: '16' } }).aggregation.semi_space_mib).toBe(16);
    const issues = issuesOf(() => loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__SEMI_SPACE_MIB: '65' } }));
    expect(issues.map((i) => [i.path, i.source])).toEqual([['aggregation.semi_space_mib', 'env PROM_RELAY_AGGREGATION__SEMI_SPACE_MIB']]);
  });

  it('compacts a fragmented heap unless aggregation.heap_compaction is false (file or env)', () => {
    expect(loadConfig({ text: '', env: {} }).aggregation.heap_compaction).toBe(true);
    expect(loadConfig({ text: 'aggregation:\n  heap_compaction: false\n', env: {} }).aggregation.heap_compaction).toBe(false);
    expect(loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__HEAP_COMPACTION: 'false' } }).aggregation.heap_compaction).toBe(false);
    const issues = issuesOf(() => loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__HEAP_COMPACTION: 'sometimes' } }));
    expect(issues.map((i) => [i.path, i.source])).toEqual([['aggregation.heap_compaction', 'env PROM_RELAY_AGGREGATION__HEAP_COMPACTION']]);
  });

  it('refuses remote write options the client would refuse at start, with their key paths', () => {
    const issues = issuesOf(() =>
      loadConfig({ text: 'remote_write:\n  timeout: 0s\n  concurrency: 1000\n  headers:\n    Content-Encoding: gzip\n    "bad name": x\n', env: {} }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'remote_write.concurrency',
      'remote_write.headers.Content-Encoding',
      'remote_write.headers.bad name',
      'remote_write.timeout',
    ]);
    expect(issuesOf(() => loadConfig({ text: 'remote_write:\n  bearer_token: ""\n', env: {} })).map((i) => i.path)).toEqual(['remote_write.bearer_token']);
  });

  it('sizes the DLQ topic for the largest ingest body and refuses a smaller explicit size', () => {
    expect(loadConfig({ text: '', env: {} }).kafka.dlq_max_message_bytes).toBe(16 * 1024 * 1024);
    expect(loadConfig({ text: 'ingest:\n  max_body_bytes: 33554432\n', env: {} }).kafka.dlq_max_message_bytes).toBe(33554432 + 65536);
    const issues = issuesOf(() => loadConfig({ text: 'kafka:\n  dlq_max_message_bytes: 1048576\n', env: {} }));
    expect(issues.map((i) => i.path)).toEqual(['kafka.dlq_max_message_bytes']);
    expect(issues[0]!.message).toContain('ingest.max_body_bytes');
    const c = loadConfig({ text: 'kafka:\n  dlq_max_message_bytes: 1048576\ningest:\n  enabled: false\n', env: {} });
    expect(c.kafka.dlq_max_message_bytes).toBe(1048576);
    expect(c.kafka.topic_partitions).toBe(6);
    expect(c.kafka.topic_replication_factor).toBeUndefined();
  });
});
