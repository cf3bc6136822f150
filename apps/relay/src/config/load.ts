// Loads the config: YAML file, then PROM_RELAY_<SECTION>__<KEY> env overrides, then zod, then secret files.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { CONFIG_SECTIONS, relayConfigSchema, type RelayConfig } from './schema.js';

export const ENV_PREFIX = 'PROM_RELAY_';
const MASK = '<masked>';

export interface LoadConfigOptions {
  /** path of the YAML file; omitted: defaults plus env only */
  file?: string;
  /** YAML text instead of a file (tests) */
  text?: string;
  /** environment to read overrides from; default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Secrets that may come inline, from env, or from a `<key>_file`: [section path, key]. */
const SECRET_KEYS: [string[], string][] = [
  [['kafka', 'sasl'], 'password'],
  [['remote_write'], 'password'],
  [['remote_write'], 'bearer_token'],
  [['ingest'], 'password'],
];

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Applies env overrides in place; answers which dotted paths came from which variable. */
function applyEnv(tree: Tree, env: NodeJS.ProcessEnv): Map<string, string> {
  const sources = new Map<string, string>();
  const sections = new Set<string>(CONFIG_SECTIONS);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const value = env[name];
    if (value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map((s) => s.toLowerCase());
    // Variables that do not name a config section (e.g. PROM_RELAY_CONFIG) are not overrides.
    if (!sections.has(path[0]!) || path.some((s) => s === '')) continue;
    let node = tree;
    for (const seg of path.slice(0, -1)) {
      if (!isTree(node[seg])) node[seg] = {};
      node = node[seg] as Tree;
    }
    node[path.at(-1)!] = value;
    sources.set(path.join('.'), name);
  }
  return sources;
}

function sourceOf(path: string, sources: Map<string, string>, file: string): string {
  for (const [p, name] of sources) if (path === p || path.startsWith(`${p}.`)) return `env ${name}`;
  return file;
}

function readSecrets(config: RelayConfig, issues: ConfigIssue[]): void {
  for (const [section, key] of SECRET_KEYS) {
    let node: unknown = config;
    for (const seg of section) node = isTree(node) ? node[seg] : undefined;
    if (!isTree(node)) continue;
    const path = [...section, key].join('.');
    const file = node[`${key}_file`];
    if (typeof file !== 'string') continue;
    if (typeof node[key] === 'string') {
      issues.push({ path, message: `set either ${key} or ${key}_file, not both` });
      continue;
    }
    const secret = readSecretFile(file, `${path}_file`, issues);
    if (secret !== undefined) node[key] = secret;
  }
  config.ingest.credentials.forEach((cred, i) => {
    const path = `ingest.credentials.${i}.password`;
    if (cred.password_file !== undefined) {
      if (cred.password !== undefined) issues.push({ path, message: 'set either password or password_file, not both' });
      else cred.password = readSecretFile(cred.password_file, `${path}_file`, issues);
    }
    if (cred.password === undefined && cred.password_file === undefined) issues.push({ path, message: 'a credential needs a password (or password_file)' });
  });
  config.ingest.bearer_token_files.forEach((file, i) => {
    const token = readSecretFile(file, `ingest.bearer_token_files.${i}`, issues);
    if (token !== undefined) config.ingest.bearer_tokens.push(token);
  });
}

function readSecretFile(file: string, path: string, issues: ConfigIssue[]): string | undefined {
  try {
    // A trailing newline is an artefact of `echo secret > file`, never part of the secret.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    issues.push({ path, message: `cannot read secret file ${file}: ${(err as Error).message}` });
    return undefined;
  }
}

/** Room for a record's key, headers and batch framing around an ingest body of max_body_bytes. */
export const RECORD_OVERHEAD_BYTES = 64 * 1024;
const MIN_DLQ_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The DLQ topic's max.message.bytes: as configured, else large enough for any record the ingest writes. */
export function dlqMaxMessageBytes(config: RelayConfig): number {
  return config.kafka.dlq_max_message_bytes ?? Math.max(MIN_DLQ_MAX_MESSAGE_BYTES, config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES);
}

function crossChecks(config: RelayConfig, issues: ConfigIssue[]): void {
  const dlqBytes = config.kafka.dlq_max_message_bytes;
  if (dlqBytes !== undefined && config.ingest.enabled && dlqBytes < config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES) {
    issues.push({
      path: 'kafka.dlq_max_message_bytes',
      message: `must hold the largest record the ingest writes: at least ingest.max_body_bytes + ${RECORD_OVERHEAD_BYTES} = ${config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES}`,
    });
  }
  const rw = config.remote_write;
  if (rw.username !== undefined && rw.password === undefined) {
    issues.push({ path: 'remote_write.password', message: 'remote_write.username is set: a password (or password_file) is required' });
  }
  if (rw.password !== undefined && rw.username === undefined) {
    issues.push({ path: 'remote_write.username', message: 'remote_write.password is set: a username is required' });
  }
  if (rw.bearer_token === '') issues.push({ path: 'remote_write.bearer_token', message: 'must not be empty (leave it out for no bearer auth)' });
  if (rw.bearer_token !== undefined && rw.username !== undefined) {
    issues.push({ path: 'remote_write.bearer_token', message: 'use basic auth (username/password) or bearer_token, not both' });
  }
  const ing = config.ingest;
  if ((ing.username === undefined) !== (ing.password === undefined)) {
    issues.push({ path: 'ingest.password', message: 'ingest basic auth needs both username and password (or password_file)' });
  }
  const sasl = config.kafka.sasl;
  if (sasl && sasl.password === undefined) {
    issues.push({ path: 'kafka.sasl.password', message: 'kafka.sasl needs a password (or password_file)' });
  }
  const ssl = config.kafka.ssl;
  if ((ssl.cert_file === undefined) !== (ssl.key_file === undefined)) {
    issues.push({ path: 'kafka.ssl.key_file', message: 'a client certificate needs both cert_file and key_file' });
  }
  const aggregatedTopics = new Set(config.kafka.topics);
  for (const t of [config.kafka.dlq_topic, config.kafka.checkpoint_topic]) {
    if (aggregatedTopics.has(t)) issues.push({ path: 'kafka.topics', message: `topic ${t} is also the DLQ or checkpoint topic` });
  }
  config.aggregation.rules.forEach((rule, i) => {
    if (rule.by && rule.without) {
      issues.push({ path: `aggregation.rules.${i}`, message: 'a rule has either by or without, not both' });
    }
  });
}

/** Loads and validates the config; throws ConfigError whose `issues` name every bad key path. */
export function loadConfig(opts: LoadConfigOptions = {}): RelayConfig {
  const env = opts.env ?? process.env;
  const fileLabel = opts.file ?? 'config';
  let text = opts.text ?? '';
  if (opts.file !== undefined) {
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError('PROM_RELAY_CONFIG_FILE', `cannot read config file ${opts.file}: ${(err as Error).message}`, [], { cause: err });
    }
  }
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    throw new ConfigError('PROM_RELAY_CONFIG_FILE', `${fileLabel} is not valid YAML: ${(err as Error).message}`, [], { cause: err });
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isTree(raw)) {
    throw new ConfigError('PROM_RELAY_CONFIG_INVALID', `${fileLabel}: the top level must be a mapping`, [
      { path: '(root)', message: 'expected a mapping of sections', source: fileLabel },
    ]);
  }
  const sources = applyEnv(raw, env);
  const parsed = relayConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue): ConfigIssue[] => {
      const base = issue.path.map(String);
      // Unknown keys are reported one per key, with their own path.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => {
          const path = [...base, k].join('.');
          return { path, message: 'unknown key', source: sourceOf(path, sources, fileLabel) };
        });
      }
      const path = base.join('.') || '(root)';
      return [{ path, message: issue.message, source: sourceOf(path, sources, fileLabel) }];
    });
    throw invalid(issues);
  }
  const config = parsed.data;
  const issues: ConfigIssue[] = [];
  readSecrets(config, issues);
  crossChecks(config, issues);
  if (issues.length > 0) throw invalid(issues);
  config.kafka.dlq_max_message_bytes = dlqMaxMessageBytes(config);
  return config;
}

function invalid(issues: ConfigIssue[]): ConfigError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}${i.source ? ` (${i.source})` : ''}`);
  return new ConfigError('PROM_RELAY_CONFIG_INVALID', `invalid config:\n${lines.join('\n')}`, issues);
}

const SECRET_HEADER_RE = /authorization|token|secret|key|password|cookie/i;

/** A deep copy with every secret replaced by `<masked>`: safe to print and to log. */
export function maskConfig(config: RelayConfig): RelayConfig {
  const copy = structuredClone(config);
  for (const [section, key] of SECRET_KEYS) {
    let node: unknown = copy;
    for (const seg of section) node = isTree(node) ? node[seg] : undefined;
    if (isTree(node) && node[key] !== undefined) node[key] = MASK;
  }
  for (const cred of copy.ingest.credentials) if (cred.password !== undefined) cred.password = MASK;
  copy.ingest.bearer_tokens = copy.ingest.bearer_tokens.map(() => MASK);
  for (const name of Object.keys(copy.remote_write.headers)) {
    if (SECRET_HEADER_RE.test(name)) copy.remote_write.headers[name] = MASK;
  }
  return copy;
}

/** The effective config as YAML, secrets masked, durations in milliseconds. */
export function formatConfig(config: RelayConfig): string {
  return stringifyYaml(maskConfig(config));
}
