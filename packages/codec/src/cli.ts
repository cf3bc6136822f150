import { readFileSync } from 'node:fs';
import { CodecError, PromRelayError } from './errors.js';
import { compress, decompress } from './snappy.js';
import { decodeWriteRequest, encodeWriteRequest } from './remote-write/v1.js';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './remote-write/v2.js';
import type { Exemplar, Histogram, MetricMetadata, Sample, TimeSeries, WriteRequest } from './types.js';

export const USAGE = `usage: prom-codec encode [--v2] < request.json > body.snappy
       prom-codec decode [--v2] < body.snappy > request.json
       prom-codec --help | --version

encode reads a WriteRequest as JSON, e.g.
  {"timeseries":[{"labels":{"__name__":"up","job":"x"},"samples":[{"value":1,"timestamp":1700000000000}]}]}
and writes a snappy-compressed Remote Write body (1.0, or 2.0 with --v2). decode does the reverse.
Values that are not finite are the strings "NaN", "+Inf", "-Inf" and "StaleNaN" (the staleness marker).
Samples and histograms may carry "startTimestamp" (ms; written in 2.0 only, 1.0 has no such field).
`;

export interface CliResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: string;
}

const SPECIALS: Record<string, number> = { NaN: NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };

function invalid(path: string, message: string): CodecError {
  return new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `${path}: ${message}`);
}

function toNumber(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value in SPECIALS) return SPECIALS[value]!;
  throw invalid(path, `expected a number or "NaN", "+Inf", "-Inf", got ${JSON.stringify(value)}`);
}

function toNumbers(value: unknown, path: string): number[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(path, 'expected an array');
  return value.map((v, i) => toNumber(v, `${path}[${i}]`));
}

function toArray(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(path, 'expected an array');
  return value;
}

function toTimestamp(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(path, `expected an integer timestamp in ms, got ${JSON.stringify(value)}`);
  return value;
}

function toLabels(value: unknown, path: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(path, 'expected an object of label names to string values');
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(`${path}.${name}`, `expected a string, got ${JSON.stringify(v)}`);
  }
  return value as Record<string, string>;
}

function sampleFromJson(raw: unknown, path: string): Sample {
  const s = raw as { value?: unknown; timestamp?: unknown; startTimestamp?: unknown };
  if (raw === null || typeof raw !== 'object') throw invalid(path, 'expected a sample object');
  const timestamp = toTimestamp(s.timestamp, `${path}.timestamp`);
  const sample: Sample = s.value === 'StaleNaN' ? { value: NaN, timestamp, stale: true } : { value: toNumber(s.value, `${path}.value`), timestamp };
  if (s.startTimestamp !== undefined) sample.startTimestamp = toTimestamp(s.startTimestamp, `${path}.startTimestamp`);
  return sample;
}

function histogramFromJson(raw: unknown, path: string): Histogram {
  if (raw === null || typeof raw !== 'object') throw invalid(path, 'expected a histogram object');
  const h = raw as Record<string, unknown>;
  const num = (key: string): number => (h[key] === undefined ? 0 : toNumber(h[key], `${path}.${key}`));
  const spans = (key: string): Histogram['positiveSpans'] =>
    (toArray(h[key], `${path}.${key}`) as Array<{ offset?: unknown; length?: unknown }>).map((s, i) => ({
      offset: toNumber(s.offset ?? 0, `${path}.${key}[${i}].offset`),
      length: toNumber(s.length ?? 0, `${path}.${key}[${i}].length`),
    }));
  const resetHint = (h['resetHint'] ?? 'unknown') as Histogram['resetHint'];
  const out: Histogram = {
    count: num('count'),
    sum: num('sum'),
    schema: num('schema'),
    zeroThreshold: num('zeroThreshold'),
    zeroCount: num('zeroCount'),
    negativeSpans: spans('negativeSpans'),
    negativeDeltas: toNumbers(h['negativeDeltas'], `${path}.negativeDeltas`),
    negativeCounts: toNumbers(h['negativeCounts'], `${path}.negativeCounts`),
    positiveSpans: spans('positiveSpans'),
    positiveDeltas: toNumbers(h['positiveDeltas'], `${path}.positiveDeltas`),
    positiveCounts: toNumbers(h['positiveCounts'], `${path}.positiveCounts`),
    resetHint,
    timestamp: h['timestamp'] === undefined ? 0 : toTimestamp(h['timestamp'], `${path}.timestamp`),
  };
  if (h['isFloat'] === true) out.isFloat = true;
  if (h['startTimestamp'] !== undefined) out.startTimestamp = toTimestamp(h['startTimestamp'], `${path}.startTimestamp`);
  return out;
}

/** Turns CLI JSON (with "NaN"/"+Inf"/"-Inf"/"StaleNaN" strings) into a WriteRequest, naming the bad path on error. */
export function writeRequestFromJson(json: unknown): WriteRequest {
  const req = json as { timeseries?: unknown; metadata?: unknown };
  if (json === null || typeof json !== 'object' || !Array.isArray(req.timeseries)) throw invalid('$', 'expected an object with a "timeseries" array');
  const timeseries = req.timeseries.map((raw: unknown, i: number): TimeSeries => {
    const path = `$.timeseries[${i}]`;
    if (raw === null || typeof raw !== 'object') throw invalid(path, 'expected a series object');
    const t = raw as { labels?: unknown; samples?: unknown; exemplars?: unknown; histograms?: unknown };
    const series: TimeSeries = {
      labels: toLabels(t.labels, `${path}.labels`),
      samples: toArray(t.samples, `${path}.samples`).map((s, j) => sampleFromJson(s, `${path}.samples[${j}]`)),
    };
    if (t.exemplars !== undefined) {
      series.exemplars = toArray(t.exemplars, `${path}.exemplars`).map((e, j): Exemplar => {
        if (e === null || typeof e !== 'object') throw invalid(`${path}.exemplars[${j}]`, 'expected an exemplar object');
        const ex = e as { labels?: unknown; value?: unknown; timestamp?: unknown };
        const out: Exemplar = { labels: toLabels(ex.labels ?? {}, `${path}.exemplars[${j}].labels`), value: toNumber(ex.value, `${path}.exemplars[${j}].value`) };
        if (ex.timestamp !== undefined) out.timestamp = toTimestamp(ex.timestamp, `${path}.exemplars[${j}].timestamp`);
        return out;
      });
    }
    if (t.histograms !== undefined) {
      series.histograms = toArray(t.histograms, `${path}.histograms`).map((h, j) => histogramFromJson(h, `${path}.histograms[${j}]`));
    }
    return series;
  });
  const out: WriteRequest = { timeseries };
  if (req.metadata !== undefined) {
    out.metadata = toArray(req.metadata, '$.metadata').map((m, i) => {
      const md = m as { type?: unknown; metricFamilyName?: unknown; help?: unknown; unit?: unknown };
      if (m === null || typeof m !== 'object' || typeof md.metricFamilyName !== 'string') {
        throw invalid(`$.metadata[${i}]`, 'expected {type, metricFamilyName, help?, unit?}');
      }
      return m as MetricMetadata;
    });
  }
  return out;
}

/** Turns a decoded WriteRequest into CLI JSON text: non-finite numbers become strings, stale samples "StaleNaN". */
export function writeRequestToJson(req: WriteRequest): string {
  const plain = {
    ...req,
    timeseries: req.timeseries.map((t) => ({
      ...t,
      samples: t.samples.map((s) => (s.stale ? { ...s, value: 'StaleNaN', stale: undefined } : s)),
    })),
  };
  return `${JSON.stringify(
    plain,
    (_key, value: unknown) => {
      if (typeof value !== 'number' || Number.isFinite(value)) return value;
      return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
    },
    2,
  )}\n`;
}

/** The version in this package's package.json (one directory above both src/ and dist/). */
export function codecVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const VERSION = new Set(['--version', '-v', 'version']);

function wantsHelp(args: readonly string[]): boolean {
  return args.length === 0 || args[0] === 'help' || args.some((a) => a === '--help' || a === '-h');
}

function text(stdout: string): CliResult {
  return { exitCode: 0, stdout: Buffer.from(stdout, 'utf8'), stderr: '' };
}

/** Answers help, version and bad usage without stdin; undefined when args are an encode or decode to run. */
function answerWithoutStdin(args: readonly string[]): CliResult | undefined {
  const command = args[0];
  // Asked-for help and version go to stdout with exit 0; so does usage with no arguments at all.
  if (command === undefined || wantsHelp(args)) return text(USAGE);
  if (VERSION.has(command)) return text(`prom-codec ${codecVersion()}\n`);
  const unknown = args.slice(1).filter((a) => a !== '--v2');
  if ((command !== 'encode' && command !== 'decode') || unknown.length > 0) {
    const problem = command === 'encode' || command === 'decode' ? `option ${unknown[0]}` : `command ${command}`;
    return { exitCode: 2, stdout: new Uint8Array(), stderr: `prom-codec: unknown ${problem}\n${USAGE}` };
  }
  return undefined;
}

/** Runs the CLI on a whole stdin; returns what to write and the exit code (no process access, so it is testable). */
export function runCli(args: readonly string[], stdin: Uint8Array): CliResult {
  const answered = answerWithoutStdin(args);
  if (answered) return answered;
  const command = args[0];
  const v2 = args.includes('--v2');
  try {
    if (command === 'encode') {
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(stdin).toString('utf8'));
      } catch (err) {
        throw new CodecError('PROM_RELAY_CODEC_INVALID_INPUT', `stdin is not JSON: ${(err as Error).message}`, { cause: err });
      }
      const req = writeRequestFromJson(json);
      const raw = v2 ? encodeWriteRequestV2(req) : encodeWriteRequest(req);
      return { exitCode: 0, stdout: compress(raw), stderr: '' };
    }
    const raw = decompress(stdin);
    const req = v2 ? decodeWriteRequestV2(raw) : decodeWriteRequest(raw);
    return { exitCode: 0, stdout: Buffer.from(writeRequestToJson(req), 'utf8'), stderr: '' };
  } catch (err) {
    if (err instanceof PromRelayError) {
      return { exitCode: 1, stdout: new Uint8Array(), stderr: `prom-codec: ${err.code}: ${err.message}\n` };
    }
    throw err;
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Entry point of the `prom-codec` bin. */
export async function main(args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const result = answerWithoutStdin(args) ?? runCli(args, await readStdin());
  if (result.stderr) process.stderr.write(result.stderr);
  if (result.stdout.length > 0) {
    await new Promise<void>((resolve, reject) => process.stdout.write(result.stdout, (err) => (err ? reject(err) : resolve())));
  }
  process.exitCode = result.exitCode;
}
