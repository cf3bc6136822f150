/**
 * Docs are code, for their claims of fact: what the READMEs and docs/ name must exist in the code, as named.
 * - the config table of apps/relay/README.md: every key is a key of the schema, every key of the schema is in the
 *   table, and each default is the effective default (`check-config` of an empty file);
 * - every `prom_relay_*` metric named in a doc is registered (the relay's registry with the repartition stage's,
 *   the worker clusters', the push client's), and every metric the relay registers is named in its README;
 * - every `PROM_RELAY_*` code or variable named in a doc occurs in the sources; every `PROM_RELAY_<SECTION>__<KEY>`
 *   override names a config key;
 * - every `prom-relay <command>` (and `prom-codec <command>`) and its flags are in the bin's `--help`, every
 *   `npm run <script>` is a script of the root package.json, every `--project <name>` a vitest project;
 * - no `text` block (docs-commands leaves them out as output and diagrams) holds a command;
 * - every prom-relay-* header a doc writes occurs in the sources (or deploy/), every `section.key` in prose is a key;
 * - every file a doc names (`test/…`, `src/…`, `bench/…`, links) exists;
 * - every TypeScript example type-checks (strict, the workspace's compiler options): tsx, which runs them, does not
 *   check types. The stage READMEs' sketches too, with what they leave to the runtime declared (SKETCHES).
 * The commands and examples themselves run in docs-commands.test.ts (and deploy/readme.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_PRODUCER_LABELS } from '@prom-relay/emitter';
import { RemoteWriteClient } from '@prom-relay/push-client';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatConfig, loadConfig, relayConfigSchema, parseDuration, RECORD_OVERHEAD_BYTES } from '../../src/config/index.js';
import { RepartitionMetrics } from '../../src/repartition/metrics.js';
import { RelayMetrics } from '../../src/server/metrics.js';
import { docBlocks, docFiles, extractBlocks } from './markdown-blocks.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const RELAY = join(REPO, 'apps/relay');
const DOCS = [...docFiles(REPO), 'deploy/README.md'];
const text = (file: string) => readFileSync(join(REPO, file), 'utf8');
const RELAY_README = 'apps/relay/README.md';

// ---- the config table -----------------------------------------------------------------------------------------

type Schema = { _zod: { def: Record<string, unknown> & { type: string } } };

/** The dotted paths of the schema's leaves (an object under optional/default/prefault/preprocess is walked into). */
function schemaKeys(s: Schema, prefix: string[] = []): string[] {
  let cur: Schema | undefined = s;
  for (let i = 0; i < 10 && cur && cur._zod.def.type !== 'object'; i++) {
    const d = cur._zod.def as { type: string; innerType?: Schema; in?: Schema; out?: Schema };
    cur = d.innerType ?? (d.type === 'pipe' ? (d.out?._zod.def.type === 'transform' ? d.in : d.out) : undefined);
  }
  if (!cur || cur._zod.def.type !== 'object') return [prefix.join('.')];
  return Object.entries(cur._zod.def.shape as Record<string, Schema>).flatMap(([k, v]) => schemaKeys(v, [...prefix, k]));
}

interface ConfigRow {
  line: number;
  keys: string[];
  cell: string;
}

/** The rows of the `| key | default | meaning |` table: `a.b`, `c` / `c_file` name a.b, a.c and a.c_file. */
function configRows(): ConfigRow[] {
  const lines = text(RELAY_README).split('\n');
  const start = lines.findIndex((l) => /^\| key \| default \| meaning \|$/.test(l));
  expect(start, `${RELAY_README} has the config table`).toBeGreaterThan(0);
  const rows: ConfigRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const names = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const first = names[0]!;
    const parent = first.split('.').slice(0, -1).join('.');
    rows.push({ line: i + 1, keys: names.map((n) => (n.includes('.') ? n : `${parent}.${n}`)), cell: cells[1]! });
  }
  return rows;
}

/** Defaults the table describes in words: what each says, checked against the effective config. */
const DESCRIBED: Record<string, (config: ReturnType<typeof loadConfig>) => void> = {
  'kafka.dlq_max_message_bytes': (c) => {
    expect(c.kafka.dlq_max_message_bytes).toBe(Math.max(16_777_216, c.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES));
    const big = loadConfig({ text: 'ingest:\n  max_body_bytes: 33554432\n', env: {} });
    expect(big.kafka.dlq_max_message_bytes).toBe(33_554_432 + 65_536);
  },
  // "the broker's default.replication.factor": the relay sets none
  'kafka.topic_replication_factor': (c) => expect(c.kafka.topic_replication_factor).toBeUndefined(),
  // "first of kafka.topics", "<kafka.group_id>.partials": resolved where used, unset in the config
  'ingest.topic': (c) => expect(c.ingest.topic).toBeUndefined(),
  'repartition.topic': (c) => expect(c.repartition.topic).toBeUndefined(),
  // `[instance]`: unset in the config, the message format's producer labels where used
  'aggregation.producer_labels': (c) => {
    expect(c.aggregation.producer_labels).toBeUndefined();
    expect([...DEFAULT_PRODUCER_LABELS]).toEqual(['instance']);
  },
};

/** A default as the table writes it, as the effective config holds it; `undefined` when the cell is words. */
function parseDefault(cell: string): { value: unknown } | undefined {
  const t = cell.replace(/`/g, '').trim();
  if (t === 'none') return { value: undefined };
  if (/^(true|false)$/.test(t)) return { value: t === 'true' };
  if (/^-?\d+$/.test(t)) return { value: Number(t) };
  if (/^\d+(ms|s|m|h)$/.test(t)) return { value: parseDuration(t) };
  if (t === '{}') return { value: {} };
  if (/^\[.*\]$/.test(t)) return { value: t.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '') };
  if (/^[\w.:/-]+$/.test(t) && cell.startsWith('`')) return { value: t };
  return undefined;
}

function get(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], config);
}

// ---- names in the docs ----------------------------------------------------------------------------------------

/** Inline code spans and code block lines of a markdown text, with their line numbers. */
function codeSpans(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((l, i) => {
    const open = /^\s*(`{3,}|~{3,})/.exec(l);
    if (fence !== undefined) {
      if (open && l.trim() === fence) fence = undefined;
      else out.push({ line: i + 1, code: l });
      return;
    }
    if (open) {
      fence = open[1];
      return;
    }
    for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, code: m[1]! });
  });
  return out;
}

function where(file: string, markdown: string, index: number): string {
  return `${file}:${markdown.slice(0, index).split('\n').length}`;
}

/** Every metric name a doc writes, abbreviations expanded: `a_b_c_total` / `_d_total` names a_b_d_total or a_d_total… */
function docMetrics(): { at: string; candidates: string[] }[] {
  const found: { at: string; candidates: string[] }[] = [];
  for (const file of DOCS) {
    const md = text(file);
    for (const m of md.matchAll(/prom_relay_[a-z0-9_]*(?:\{[a-z0-9_,]+\}_[a-z0-9_]*)?/g)) {
      const name = m[0];
      if (md[m.index + name.length] === '*' || name.endsWith('_')) continue; // a family written as a prefix (`prom_relay_process_process_*`)
      const brace = /\{([a-z0-9_,]+)\}/.exec(name);
      const names = brace ? brace[1]!.split(',').map((v) => name.replace(brace[0], v)) : [name];
      for (const n of names) found.push({ at: where(file, md, m.index), candidates: [n] });
      // `full_name` / `_abbrev` / `_abbrev2`: each abbreviation replaces a tail of the full name
      const tail = /^(?:`?(?:\{[^}]*\})?\s*\/\s*`(_[a-z0-9_]+))+/.exec(md.slice(m.index + name.length));
      if (tail) {
        for (const a of tail[0].matchAll(/`(_[a-z0-9_]+)/g)) {
          const parts = name.split('_');
          found.push({ at: where(file, md, m.index), candidates: parts.slice(2, -1).map((_, k) => parts.slice(0, k + 2).join('_') + a[1]) });
        }
      }
    }
  }
  return found;
}

function relayRegistry(): Registry {
  const registry = new Registry();
  new RelayMetrics(() => [], registry);
  new RepartitionMetrics(registry, () => []);
  return registry;
}

function sourceFiles(dir: string, pattern = /\.(ts|mjs|js|sh)$/): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' || d.name === 'dist' ? [] : sourceFiles(p, pattern);
    return pattern.test(d.name) ? [p] : [];
  });
}

const sourcesUnder = (dir: string, pattern: RegExp): string => sourceFiles(dir, pattern).map((f) => readFileSync(f, 'utf8')).join('\n');

/** Every source the docs may name a code or variable of: the packages' src, the relay's, infra's, the scripts. */
const SOURCES = [join(RELAY, 'src'), ...['codec', 'push-client', 'emitter'].map((p) => join(REPO, 'packages', p, 'src')), join(REPO, 'infra/src'), join(REPO, 'scripts')]
  .flatMap((d) => sourceFiles(d))
  .concat([join(REPO, 'infra/setup.sh'), join(REPO, 'vitest.config.ts')])
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

/**
 * The not-run sketches of the stage READMEs, type-checked with what they leave to the runtime declared: `marks` is a
 * line of the block that finds it, `context()` the declarations appended to it.
 */
const SKETCHES: { file: string; marks: string; context: () => string }[] = [
  {
    file: 'apps/relay/src/aggregate/README.md',
    marks: 'PartitionAggregate.fromState(',
    context: () => {
      const at = (p: string) => JSON.stringify(join(RELAY, 'src', p));
      return [
        // a kafkajs batch's messages (topic and partition are the batch's), the source stage's topic and partition
        `declare const kafkaBatch: { messages: Omit<import(${at('kafka/index.js')}).KafkaRecord, 'topic' | 'partition'>[] };`,
        'declare const topic: string;',
        'declare const partition: number;',
        `declare const sameOptions: ConstructorParameters<typeof import(${at('aggregate/index.js')}).PartitionAggregate>[0];`,
      ].join('\n');
    },
  },
  {
    file: 'apps/relay/src/aggregate/README.md',
    marks: 'interface AggregationRule {',
    // the README's declaration is the type src/aggregate defines, both ways
    context: () =>
      [
        `import type { AggregationRule as Defined } from ${JSON.stringify(join(RELAY, 'src/aggregate/options.js'))};`,
        'export const same: [Defined] extends [AggregationRule] ? ([AggregationRule] extends [Defined] ? true : false) : false = true;',
      ].join('\n'),
  },
  {
    file: 'apps/relay/src/ingest/README.md',
    marks: 'createIngest({',
    context: () =>
      [
        `declare const producer: import(${JSON.stringify(join(RELAY, 'src/kafka/index.js'))}).RelayProducer;`,
        "declare const logger: import('pino').Logger;",
      ].join('\n'),
  },
];

describe('what the docs name exists in the code', () => {
  it(`every key of the config table is a config key, and every config key is in the table`, () => {
    const schema = schemaKeys(relayConfigSchema as unknown as Schema).sort();
    const documented = configRows().flatMap((r) => r.keys.map((k) => ({ k, at: `${RELAY_README}:${r.line}` })));
    expect(schema.length).toBeGreaterThan(70);
    expect(documented.filter(({ k }) => !schema.includes(k)).map(({ k, at }) => `${at}: ${k}`), 'documented, not in the schema').toEqual([]);
    const keys = new Set(documented.map(({ k }) => k));
    expect(schema.filter((k) => !keys.has(k)), `in the schema, missing from the table in ${RELAY_README}`).toEqual([]);
  });

  it('every config key a doc writes in prose (`section.key`) is a config key', () => {
    const keys = schemaKeys(relayConfigSchema as unknown as Schema);
    const known = new Set(keys.flatMap((k) => k.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))));
    const docs = DOCS.filter((f) => !f.startsWith('packages/') && f !== 'infra/README.md'); // their `kafka.…` are options of their own
    const wrong: string[] = [];
    let checked = 0;
    for (const file of docs) {
      for (const { line, code } of codeSpans(text(file))) {
        const m = /^(kafka|remote_write|aggregation|repartition|flush|server|ingest|log|shutdown)\.([a-z_]+(?:\.[a-z_]+)*)(\*)?(?=$|[:,\s])/.exec(code);
        if (!m) continue;
        checked++;
        const key = `${m[1]}.${m[2]}`;
        if (m[3] ? !keys.some((k) => k.startsWith(key)) : !known.has(key)) wrong.push(`${file}:${line}: ${code}`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(wrong).toEqual([]);
  });

  it('the remote_write.headers the README says are masked are masked, and only those', () => {
    const said = /`remote_write\.headers` values whose name contains ((?:`\w+`,?\s*(?:or\s+)?)+)/.exec(text(RELAY_README).replace(/\n/g, ' '));
    expect(said, `${RELAY_README} says which header values are masked`).not.toBeNull();
    const parts = [...said![1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    // each part, in another case, inside a longer name; and a name with none of them
    const headers = Object.fromEntries(parts.map((p, i) => [`X-${p.toUpperCase()}-${i}`, `value-${i}`]));
    const yaml = `remote_write:\n  headers:\n${Object.entries({ ...headers, 'X-Scope-OrgID': 'team-a' }).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n`;
    const printed = formatConfig(loadConfig({ text: yaml, env: {} }));
    for (const [name, value] of Object.entries(headers)) {
      expect(printed, name).toContain(`${name}: <masked>`);
      expect(printed).not.toContain(value);
    }
    expect(printed).toContain('X-Scope-OrgID: team-a');
  });

  it('every default in the config table is the effective default', () => {
    const config = loadConfig({ text: '', env: {} });
    const wrong: string[] = [];
    for (const row of configRows()) {
      const cells = [...row.cell.matchAll(/`([^`]*)`/g)].map((m) => `\`${m[1]}\``);
      // `a`, `b` for keys a and b; otherwise one default for every key of the row
      const perKey = row.keys.length > 1 && cells.length === row.keys.length && /^(`[^`]*`,\s*)+`[^`]*`$/.test(row.cell) ? cells : row.keys.map(() => row.cell);
      row.keys.forEach((key, i) => {
        const described = DESCRIBED[key];
        if (described) return described(config);
        const parsed = parseDefault(perKey[i]!);
        if (!parsed) return wrong.push(`${RELAY_README}:${row.line}: ${key}: the default "${row.cell}" is words: add a check to DESCRIBED`);
        const actual = get(config, key);
        if (JSON.stringify(actual) !== JSON.stringify(parsed.value)) {
          wrong.push(`${RELAY_README}:${row.line}: ${key}: documented ${row.cell}, effective ${JSON.stringify(actual)}`);
        }
      });
    }
    expect(wrong).toEqual([]);
  });

  it('every metric a doc names is registered', async () => {
    const registered = new Set((await relayRegistry().getMetricsAsJSON()).map((m) => m.name));
    // the worker clusters' own (prom_relay_<role>_workers, prom_relay_<role>_worker_restarts_total)
    const cluster = readFileSync(join(RELAY, 'src/roles/worker-cluster.ts'), 'utf8');
    expect(cluster).toContain('name: `prom_relay_${role.name}_worker_restarts_total`');
    expect(cluster).toContain('name: `prom_relay_${role.name}_workers`');
    for (const [role, file] of [['ingest', 'ingest-cluster.ts'], ['aggregate', 'aggregate-cluster.ts']] as const) {
      expect(readFileSync(join(RELAY, 'src/roles', file), 'utf8')).toContain(`name: '${role}',`);
      registered.add(`prom_relay_${role}_workers`).add(`prom_relay_${role}_worker_restarts_total`);
    }
    const pushRegistry = new Registry();
    await new RemoteWriteClient({ url: 'http://127.0.0.1:9/api/v1/write', registry: pushRegistry }).close();
    for (const m of await pushRegistry.getMetricsAsJSON()) registered.add(m.name);
    const named = docMetrics();
    expect(named.length).toBeGreaterThan(50);
    const unknown = named.filter((d) => !d.candidates.some((c) => registered.has(c)));
    expect(unknown.map((d) => `${d.at}: ${d.candidates.join(' or ')}`)).toEqual([]);
  });

  it('the labels a doc writes on a metric (`name{a,b}`, `name{a="v"}`) are its labels', async () => {
    const relay = relayRegistry();
    const push = new Registry();
    await new RemoteWriteClient({ url: 'http://127.0.0.1:9/api/v1/write', registry: push }).close();
    const labelsOf = (name: string): string[] | undefined => {
      const metric = (relay.getSingleMetric(name) ?? push.getSingleMetric(name)) as unknown as { labelNames?: string[] } | undefined;
      return metric ? [...(metric.labelNames ?? [])] : undefined;
    };
    const wrong: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      const md = text(file);
      for (const m of md.matchAll(/(prom_relay_[a-z0-9_]+)\{([^}]*)\}/g)) {
        const labels = labelsOf(m[1]!);
        if (labels === undefined) continue; // an abbreviation, or a metric of a worker cluster (checked above)
        checked++;
        const named = m[2]!.split(',').map((l) => l.split('=')[0]!.trim()).filter((l) => l !== '');
        const own = labels.filter((l) => l !== 'remote'); // the push client's `remote=<name>`, said once in its README
        const ok = m[2]!.includes('=') ? named.every((l) => labels.includes(l)) : JSON.stringify([...named].sort()) === JSON.stringify([...own].sort());
        if (!ok) wrong.push(`${where(file, md, m.index)}: ${m[0]} (labels: ${labels.join(', ') || 'none'})`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });

  it(`every metric the relay registers is named in ${RELAY_README}`, async () => {
    const named = new Set(docMetrics().filter((d) => d.at.startsWith(`${RELAY_README}:`)).flatMap((d) => d.candidates));
    const own = (await relayRegistry().getMetricsAsJSON()).map((m) => m.name).filter((n) => !/^prom_relay_(process|nodejs)_/.test(n));
    expect(own.filter((n) => !named.has(n))).toEqual([]);
  });

  it('every PROM_RELAY_ code and variable a doc names occurs in the sources; every override names a config key', () => {
    const keys = new Set(schemaKeys(relayConfigSchema as unknown as Schema));
    const missing: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      const md = text(file);
      for (const m of md.matchAll(/\bPROM_RELAY_[A-Z0-9_]*[A-Z0-9]/g)) {
        const name = m[0];
        checked++;
        if (name.includes('__')) {
          const path = name.slice('PROM_RELAY_'.length).split('__').map((s) => s.toLowerCase()).join('.');
          if (!keys.has(path)) missing.push(`${where(file, md, m.index)}: ${name} overrides ${path}, not a config key`);
          // an example value (`NAME=value`) is taken as written
          const value = /^=([^\s`,]+(?:,[^\s`,]+)*)/.exec(md.slice(m.index + name.length))?.[1];
          if (value !== undefined) {
            try {
              const config = loadConfig({ text: '', env: { [name]: value } });
              if (path === 'kafka.brokers') expect(config.kafka.brokers).toEqual(value.split(','));
            } catch (err) {
              missing.push(`${where(file, md, m.index)}: ${name}=${value} is refused: ${(err as Error).message}`);
            }
          }
        } else if (!new RegExp(`\\b${name}\\b`).test(SOURCES)) {
          missing.push(`${where(file, md, m.index)}: ${name} occurs in no source`);
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    expect(missing).toEqual([]);
  });

  it('every prom-relay-* header (and other prom-relay-* name) a doc writes occurs in the sources or deploy/', () => {
    const deploy = sourcesUnder(join(REPO, 'deploy'), /\.(ya?ml|service|json|go|jsonnet|libsonnet)$|Containerfile$/);
    const wrong: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      const md = text(file);
      for (const m of md.matchAll(/`(prom-relay-[a-z0-9-]*[a-z0-9])(?=[`=])/g)) {
        checked++;
        if (!new RegExp(`['"\`/\\s:]${m[1]}(?![\\w-])`).test(SOURCES) && !deploy.includes(m[1]!)) wrong.push(`${where(file, md, m.index)}: ${m[1]}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });

  it('every prom-relay command and flag a doc names is in prom-relay --help; npm scripts and vitest projects exist', () => {
    const node = (args: string[]) => spawnSync(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', ...args], { cwd: RELAY, encoding: 'utf8' });
    const help = node([join(RELAY, 'src/cli.ts'), '--help']);
    expect(help.status, help.stderr).toBe(0);
    const codecCli = JSON.stringify(pathToFileURL(join(REPO, 'packages/codec/src/cli.ts')).href);
    const codecHelp = node(['--input-type=module', '-e', `const { main } = await import(${codecCli}); await main(['--help']);`]);
    expect(codecHelp.status, codecHelp.stderr).toBe(0);
    /** per bin: its commands (the word after the bin's name in its usage) and every flag its usage names */
    const usage = (text: string, bin: string) => ({
      commands: new Set([...text.matchAll(new RegExp(`^\\s*(?:usage:)?\\s+${bin} ([a-z][a-z-]*)`, 'gm'))].map((m) => m[1]!)),
      flags: new Set(text.match(/(?<![\w-])--?[a-z][a-z0-9-]*/g)),
    });
    const bins: Record<string, ReturnType<typeof usage>> = { 'prom-relay': usage(help.stdout, 'prom-relay'), 'prom-codec': usage(codecHelp.stdout, 'prom-codec') };
    expect([...bins['prom-relay']!.commands].sort()).toEqual(['aggregate', 'check-config', 'end-job', 'ingest', 'run', 'version']);
    expect([...bins['prom-codec']!.commands].sort()).toEqual(['decode', 'encode']);
    const scripts = Object.keys((JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts);
    const projects = ['packages', 'apps'].flatMap((d) => readdirSync(join(REPO, d)).map((p) => `${d}/${p}`)).concat('infra')
      .filter((d) => existsSync(join(REPO, d, 'vitest.config.ts')))
      .map((d) => /project\('([^']+)'\)/.exec(text(`${d}/vitest.config.ts`))![1]!);
    const wrong: string[] = [];
    let invocations = 0;
    for (const file of DOCS) {
      for (const { line, code } of codeSpans(text(file))) {
        const at = `${file}:${line}`;
        // a bin in command position: first word (after `npx`), after a pipe or `&&`; the relay's source cli.ts too
        for (const m of code.matchAll(/(?:^\s*(?:\$\s+)?(?:npx\s+)?|[|&;]\s*(?:npx\s+)?)(prom-relay|prom-codec)\s+([^#|&;<>]*)|relay\/src\/cli\.ts\s+([^#|&;<>]*)/g)) {
          const bin = m[1] ?? 'prom-relay';
          const { commands, flags } = bins[bin]!;
          const words = (m[2] ?? m[3]!).trim().split(/\s+/);
          if (!/^-|^[a-z][a-z-]*$/.test(words[0] ?? '')) continue;
          invocations++;
          if (!words[0]!.startsWith('-') && !commands.has(words[0]!)) wrong.push(`${at}: ${bin} ${words[0]} is no command`);
          for (const w of words.filter((x) => /^--?[a-z]/.test(x))) if (!flags.has(w.replace(/=.*/, ''))) wrong.push(`${at}: ${bin} ${w} is no flag`);
        }
        for (const m of code.matchAll(/\bnpm run ([\w:-]+)/g)) if (!scripts.includes(m[1]!)) wrong.push(`${at}: npm run ${m[1]} is no script`);
        for (const m of code.matchAll(/--project ([\w-]+)/g)) if (!projects.includes(m[1]!)) wrong.push(`${at}: --project ${m[1]} is no vitest project`);
      }
    }
    expect(projects.length).toBeGreaterThanOrEqual(5);
    expect(invocations).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });

  it('every file a doc names exists', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      const md = text(file);
      const dir = dirname(file);
      const named = [
        ...[...md.matchAll(/`((?:\.\.\/)*[\w@-][\w.@-]*(?:\/[\w.@{},*-]+)+\/?)`/g)].map((m) => ({ p: m[1]!, i: m.index })),
        ...[...md.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => ({ p: m[1]!, i: m.index })),
      ];
      for (const { p, i } of named) {
        // generated at run time, outside the repository, or not a path (a URL path, a MIME type, a Maven coordinate)
        // only files (an extension) and folders (a trailing /); not package names, Go packages, URL paths, MIME types,
        // nor what is made at run time or lives outside the repository
        if (!/\.\w+$|\/$/.test(p) || /^(\.cache|\.stack|~)\/|^@|github\.com|[<>$…*]|^(application|text)\//.test(p)) continue;
        const expanded = /\{([^}]+)\}/.exec(p);
        const paths = expanded ? expanded[1]!.split(',').map((v) => p.replace(expanded[0], v)) : [p];
        for (const path of paths) {
          checked++;
          const bases = [join(REPO, dir), REPO, RELAY, join(RELAY, 'src')];
          if (!bases.some((b) => existsSync(join(b, path)) && (path.endsWith('/') ? statSync(join(b, path)).isDirectory() : true))) {
            missing.push(`${where(file, md, i)}: ${path}`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });
  it('every TypeScript example type-checks as written', () => {
    const blocks = docBlocks(REPO).filter((b) => b.lang === 'ts' && (b.notRun === undefined || SKETCHES.some((k) => k.file === b.file && b.text.includes(k.marks))));
    expect(blocks.filter((b) => b.notRun === undefined).length).toBeGreaterThanOrEqual(5); // codec, emitter, push-client, infra x2
    expect(blocks.filter((b) => b.notRun !== undefined).length, 'every sketch of SKETCHES is found').toBe(SKETCHES.length);
    mkdirSync(join(REPO, '.cache'), { recursive: true });
    // inside the repository, so that @prom-relay/* and prom-client resolve as from the root (the examples' cwd)
    const dir = mkdtempSync(join(REPO, '.cache/docs-typecheck-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      const files = blocks.map((b) => {
        const sketch = SKETCHES.find((k) => k.file === b.file && b.text.includes(k.marks));
        // a sketch's `./<stage>/index.js` is the relay's src/<stage>: its only change besides the declarations appended
        const body = sketch ? `${b.text.replace(/from '\.\/(\w+)\/index\.js'/g, (_, stage: string) => `from ${JSON.stringify(join(RELAY, 'src', stage, 'index.js'))}`)}\n${sketch.context()}\n` : b.text;
        const file = join(dir, `${b.file.replace(/\W+/g, '-')}-${b.line}.ts`);
        writeFileSync(file, /^\s*(import|export)\s/m.test(body) ? body : `${body}\nexport {};\n`);
        return file;
      });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: join(REPO, 'tsconfig.base.json'), compilerOptions: { noEmit: true, declaration: false, sourceMap: false }, files }),
      );
      const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
      expect(tsc.stderr).toBe('');
      // The examples' own errors, each named by the markdown line it is on (an error inside a workspace source that an
      // example imports is the typecheck's to report, not this test's: another change may be under way there).
      const diagnostics = tsc.stdout.split(/\n(?=\S)/).filter((d) => d.trim() !== '');
      const names = new Set(files.map((f) => f.slice(dir.length + 1)));
      const errors = diagnostics
        .filter((d) => names.has(/^([^(]+)\(/.exec(d)?.[1] ?? ''))
        .map((d) => d.replace(/^([\w-]+)-(\d+)\.ts\((\d+),(\d+)\)/, (_, f: string, line: string, l: string) => `${blocks.find((b) => b.line === Number(line) && f.startsWith(b.file.replace(/\W+/g, '-')))?.file}:${Number(line) + Number(l)}`));
      expect(errors).toEqual([]);
      if (tsc.status !== 0) expect(diagnostics.length, tsc.stdout).toBeGreaterThan(0); // a failure it printed nothing about
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
  it('the tests and files a not-run marker names as running the block instead exist', () => {
    const deploy = extractBlocks('deploy/README.md', text('deploy/README.md'));
    const marked = [...docBlocks(REPO), ...deploy].filter((b) => b.notRun !== undefined);
    expect(marked.length).toBeGreaterThan(5);
    const missing: string[] = [];
    let checked = 0;
    for (const b of marked) {
      for (const m of b.notRun!.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)+[\w.-]*\w)(?![\w/])/g)) {
        const path = m[1]!;
        if (!/\.\w+$/.test(path) && !/^(test|src|apps|packages|deploy)\//.test(path)) continue; // not a path
        checked++;
        if (![join(REPO, dirname(b.file)), REPO, RELAY].some((base) => existsSync(join(base, path)))) missing.push(`${b.file}:${b.line}: ${path}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
    expect(missing).toEqual([]);
  });

  it('text blocks (left out of docs-commands as output and diagrams) hold no command', () => {
    const text = docBlocks(REPO).filter((b) => b.lang === 'text');
    expect(text.length).toBeGreaterThan(0);
    const commands = text.flatMap((b) =>
      b.text.split('\n').flatMap((l, i) => (/^\s*(\$\s|(npm|npx|node|prom-relay|prom-codec|kcat|curl|bash|docker|kubectl)\s)/.test(l) ? [`${b.file}:${b.line + 1 + i}: ${l}`] : [])),
    );
    expect(commands, 'a command in a text block: make it an sh block (docs-commands runs it) or say why not').toEqual([]);
  });
});
