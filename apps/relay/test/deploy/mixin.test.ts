/**
 * deploy/monitoring: the rules pass `promtool check rules` and their unit tests (`promtool test rules`), every alert
 * has a test that makes it fire, the dashboard is well-formed, and every metric name a rule or a dashboard query
 * uses is one a real relay exports (read from its /metrics after it consumed, flushed and dead-lettered a little; the
 * worker processes' metrics from an `aggregate --processes 2` and an `ingest` relay with 2 workers, whose primaries
 * export them: a `run` relay has no workers).
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { eventually, relayTestEnvironment, writeRelayConfig } from '../e2e/harness.js';
import { DEPLOY, deployCheck, run, tool } from './tools.js';

const MONITORING = join(DEPLOY, 'monitoring');
const RULES = 'prom-relay.rules.yml';
const RULE_TESTS = 'prom-relay.rules.test.yml';
const DASHBOARD = 'prom-relay.dashboard.json';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: { severity?: string };
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { expr: string; refId: string }[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const rules = (): RuleFile => parseYaml(readFileSync(join(MONITORING, RULES), 'utf8')) as RuleFile;
const dashboard = (): Dashboard => JSON.parse(readFileSync(join(MONITORING, DASHBOARD), 'utf8')) as Dashboard;
// promtool test rules takes about 2 s alone, several times that beside a full test run on 2 cores
const PROMTOOL_TIMEOUT = 60_000;
const promtool = () => tool('promtool', "install Debian's prometheus package (bash infra/setup.sh does), which ships promtool");

/** Grafana's variables made into what Prometheus would receive. */
function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '30s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{(\w+)\}|\$(\w+)/g, '.*');
}

/** Every PromQL expression of the rules and the dashboard, with where it comes from. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const g of rules().groups) for (const r of g.rules) out.push({ where: `${RULES} ${r.record ?? r.alert}`, expr: r.expr });
  const d = dashboard();
  for (const p of d.panels) for (const t of p.targets ?? []) out.push({ where: `${DASHBOARD} "${p.title}" ${t.refId}`, expr: grafanaToPromql(t.expr) });
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query!.query;
    const m = /^label_values\((.*),\s*\w+\)$/.exec(q);
    if (!m) throw new Error(`${DASHBOARD} variable ${v.name}: expected label_values(<selector>, <label>), got ${q}`);
    out.push({ where: `${DASHBOARD} variable ${v.name}`, expr: grafanaToPromql(m[1]!) });
  }
  return out;
}

/** Metric names each expression's selectors use, from Prometheus's own PromQL parser (deploy/check). */
async function namesUsed(exprs: string[]): Promise<{ expr: string; names: string[]; error?: string }[]> {
  const r = await run(await deployCheck(), ['promql-names'], { input: JSON.stringify(exprs) });
  if (r.code !== 0) throw new Error(`deploy/check promql-names failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { expr: string; names: string[]; error?: string }[];
}

/** Names a /metrics page exports: every sample's name, and every name only declared by # HELP or # TYPE. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const decl = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (\w+))?/.exec(line);
    if (decl) {
      names.add(decl[2]!);
      if (decl[1] === 'TYPE' && decl[3] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(decl[2]! + s);
      if (decl[1] === 'TYPE' && decl[3] === 'summary') for (const s of ['_sum', '_count']) names.add(decl[2]! + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

describe('deploy/monitoring rules', () => {
  it('pass promtool check rules', async () => {
    const count = rules().groups.reduce((n, g) => n + g.rules.length, 0);
    const r = await run(promtool(), ['check', 'rules', RULES], { cwd: MONITORING });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${count} rules found`);
  }, PROMTOOL_TIMEOUT);

  it('pass their unit tests (promtool test rules)', async () => {
    const r = await run(promtool(), ['test', 'rules', RULE_TESTS], { cwd: MONITORING });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.code).toBe(0);
  }, PROMTOOL_TIMEOUT);

  it('have, for every alert, a unit test that fails when the alert never fires', async () => {
    const alerts = rules().groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => r.alert!));
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    // One run with every alert silenced: promtool reports each failing expectation with its alert name.
    const dir = mkdtempSync(join(tmpdir(), 'prom-relay-mixin-'));
    cpSync(join(MONITORING, RULE_TESTS), join(dir, RULE_TESTS));
    const silenced = rules();
    for (const g of silenced.groups) for (const r of g.rules) if (r.alert) r.expr = 'vector(1) == 0';
    writeFileSync(join(dir, RULES), stringifyYaml(silenced));
    const r = await run(promtool(), ['test', 'rules', RULE_TESTS], { cwd: dir });
    expect(r.code).not.toBe(0);
    const untested = alerts.filter((a) => !(r.stdout + r.stderr).includes(`alertname: ${a},`));
    expect(untested, 'alerts whose unit tests still pass when the alert can never fire').toEqual([]);
  }, PROMTOOL_TIMEOUT);

  it('are each listed in deploy/README.md with their severity', () => {
    const rows = new Map(
      [...readFileSync(join(DEPLOY, 'README.md'), 'utf8').matchAll(/^\| `(PromRelay\w+)` \| .* \| (\w+) \|$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const alerts = rules().groups.flatMap((g) => g.rules.filter((r) => r.alert));
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(alerts.map((r) => [r.alert!, r.labels?.severity])));
  });

  it('name only recorded series that a rule records', () => {
    const recorded = new Set(rules().groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    const used = expressions()
      .flatMap((e) => [...e.expr.matchAll(/\b([a-z_]+:[a-z0-9_]+:[a-z0-9_]+)\b/g)].map((m) => m[1]!))
      .filter((n) => !recorded.has(n));
    expect(used).toEqual([]);
  });
});

describe('deploy/monitoring dashboard', () => {
  it('is a Grafana dashboard whose panels query Prometheus through the datasource variable, laid out without overlap', () => {
    const d = dashboard();
    expect(d.uid).toBe('prom-relay');
    const vars = d.templating.list.map((v) => v.name);
    expect(vars).toEqual(['datasource', 'job', 'instance']);
    const cells = new Map<string, string>();
    const panels = d.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(20);
    for (const p of d.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, `${p.title} fits 24 columns`).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const key = `${x},${y}`;
          expect(cells.get(key), `${p.title} overlaps`).toBeUndefined();
          cells.set(key, p.title);
        }
    }
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        // every relay query is scoped to the chosen job and instances
        if (t.expr.includes('prom_relay_')) expect(t.expr, p.title).toContain('instance=~"$instance"');
      }
    }
  });
});

/** The relays whose /metrics the names are read from: each role that exports names of its own. */
const ROLES = ['run', 'aggregate --processes 2', 'ingest (2 workers)'] as const;
type Role = (typeof ROLES)[number];

describe('metric names in rules and dashboard', () => {
  const env = relayTestEnvironment();
  let metricsText: string;
  /** per role, the names its /metrics exports */
  const exportedBy = new Map<Role, Set<string>>();

  beforeAll(async () => {
    const brokers = testKafkaBrokers();
    const topic = testTopicName('mixin');
    const config = (name: string, t: string, extra?: Record<string, unknown>) =>
      writeRelayConfig({
        brokers,
        topic: t,
        groupId: testTopicName(`${name}-group`),
        dlqTopic: testTopicName(`${name}-dlq`),
        checkpointTopic: testTopicName(`${name}-checkpoints`),
        remoteWriteUrl: env.prom.remoteWriteUrl,
        ...(extra ? { extra } : {}),
      });
    // The primaries of `aggregate --processes N` and of a multi-worker `ingest` export the worker metrics
    // (prom_relay_<role>_workers, prom_relay_<role>_worker_restarts_total); each gets a topic of its own.
    const [aggTopic, ingestTopic] = await Promise.all([createTestTopic({ prefix: 'mixin-agg', partitions: 2 }), createTestTopic({ prefix: 'mixin-ingest', partitions: 1 })]);
    const workerRelays = Promise.all([
      env.startRelay(config('mixin-agg', aggTopic, { aggregation: { series_ttl: '10m', processes: 2 } }), { role: 'aggregate' }),
      env.startRelay(config('mixin-ingest', ingestTopic, { ingest: { workers: 2 } }), { role: 'ingest' }),
    ]);
    const relay = await env.startRelay(config('mixin', topic));
    // A little of everything: a push through the ingest, one good and one undecodable record through Kafka.
    const push = await fetch(`${relay.url}/metrics/job/mixin/instance/a`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; version=0.0.4' },
      body: '# TYPE mixin_rows_total counter\nmixin_rows_total{table="t"} 3\n',
    });
    expect(push.status).toBeLessThan(300);
    const good = buildMessage(
      { contentType: CONTENT_TYPE.text, job: 'mixin', grouping: { instance: 'b' }, producerId: 'mixin-b', sequence: 0 },
      Buffer.from('# TYPE mixin_rows_total counter\nmixin_rows_total{table="t"} 4\n'),
    );
    const bad = buildMessage(
      { contentType: CONTENT_TYPE.text, job: 'mixin', grouping: { instance: 'c' }, producerId: 'mixin-c', sequence: 0 },
      Buffer.from('mixin_rows_total{table="t" 1\n'),
    );
    await env.producer.send({ topic, messages: [good, bad] });
    // Wait for a flush that delivered, a checkpoint, and the dead letter.
    metricsText = await eventually(
      async () => (await fetch(`${relay.url}/metrics`)).text(),
      (t) => /^prom_relay_samples_sent_total \d*[1-9]/m.test(t) && /^prom_relay_checkpoint_age_seconds\{/m.test(t) && /^prom_relay_dead_letters_total\{/m.test(t),
      45_000,
    );
    exportedBy.set('run', exportedNames(metricsText));
    const [aggregate, ingest] = await workerRelays;
    exportedBy.set('aggregate --processes 2', exportedNames(await (await fetch(`${aggregate!.url}/metrics`)).text()));
    exportedBy.set('ingest (2 workers)', exportedNames(await (await fetch(`${ingest!.url}/metrics`)).text()));
  }, 180_000);

  it('reads a name the relay does not export as missing (the check itself works)', async () => {
    const exported = exportedNames(metricsText);
    const [r] = await namesUsed(['sum(rate(prom_relay_flushes_totl[5m]))']);
    expect(r!.names).toEqual(['prom_relay_flushes_totl']);
    expect(exported.has('prom_relay_flushes_totl')).toBe(false);
    expect(exported.has('prom_relay_flushes_total')).toBe(true);
    expect(exported.has('prom_relay_flush_duration_seconds_bucket')).toBe(true);
    // The worker metrics are the primaries' own: only the roles that fork workers export them.
    for (const role of ['aggregate', 'ingest'] as const) {
      const name = `prom_relay_${role}_worker_restarts_total`;
      expect(ROLES.filter((r) => exportedBy.get(r)!.has(name)), name).toEqual([ROLES.find((r) => r.startsWith(role))]);
    }
  }, 600_000);

  it('are all exported by a running relay of some role (or recorded by a rule, or Prometheus\'s own up)', async () => {
    const exported = new Set(ROLES.flatMap((r) => [...exportedBy.get(r)!]));
    const recorded = new Set(rules().groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    const exprs = expressions();
    const results = await namesUsed(exprs.map((e) => e.expr));
    const problems: string[] = [];
    const used = new Set<string>();
    results.forEach((r, i) => {
      if (r.error) problems.push(`${exprs[i]!.where}: ${r.error}`);
      for (const n of r.names) {
        used.add(n);
        if (!exported.has(n) && !recorded.has(n) && n !== 'up') problems.push(`${exprs[i]!.where}: ${n} is exported by no relay (${ROLES.join(', ')})`);
      }
    });
    expect(problems).toEqual([]);
    // The rules and dashboard watch the relay's core signals.
    for (const n of [
      'prom_relay_flushes_total',
      'prom_relay_consumer_lag',
      'prom_relay_checkpoint_age_seconds',
      'prom_relay_partition_stalled_seconds',
      'prom_relay_dead_letters_total',
      'prom_relay_dead_letters_failed_total',
      'prom_relay_limit_hits_total',
      'prom_relay_partitions_owned',
      'prom_relay_build_info',
      'prom_relay_aggregate_worker_restarts_total',
      'prom_relay_ingest_worker_restarts_total',
    ]) {
      expect(used.has(n), n).toBe(true);
    }
  }, 600_000);
});
