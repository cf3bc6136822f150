import type { Grouping } from '@prom-relay/emitter';
import { earliestCreated } from '../decode/metric-family.js';
import { familyValue, isMetricFamilyProtobuf } from './metric-family-proto.js';

/**
 * A stable producer id for an HTTP source: `<source>/job=<job>&<name>=<value>...`. Pushgateway and Remote Write
 * senders have no run id; the group is their identity, so a repeated push of a cumulative counter is not counted twice.
 */
export function groupProducerId(source: 'pushgateway' | 'remote-write', job: string, grouping: Grouping): string {
  const parts = [`job=${encodeURIComponent(job)}`];
  for (const name of Object.keys(grouping).sort()) parts.push(`${name}=${encodeURIComponent(grouping[name]!)}`);
  return `${source}/${parts.join('&')}`;
}

/** Written by the default registries of the Go, Java, Python and Node clients: when the pushing process started. */
export const PROCESS_START_METRIC = 'process_start_time_seconds';
const NAME = Buffer.from(PROCESS_START_METRIC, 'latin1');

/**
 * The run a push comes from, read from the `process_start_time_seconds` it carries (text exposition or protobuf
 * delimited): `process_start=<seconds>`, or undefined when the push has none. A process that starts again is a new
 * run, so a new producer: its counters add to the totals instead of continuing its predecessor's. Never throws: a
 * body that does not parse is reported by the full check.
 */
export function processRunId(body: Buffer, contentType: string | undefined): string | undefined {
  const protobuf = contentType !== undefined && isMetricFamilyProtobuf(contentType);
  // The name is stored as plain bytes in both formats: a push without it costs one search.
  if (body.indexOf(NAME) >= 0) {
    const value = protobuf ? familyValue(body, PROCESS_START_METRIC) : textValue(body);
    if (value !== undefined && Number.isFinite(value) && value > 0) return `process_start=${value}`;
  }
  const created = protobuf ? protobufCreated(body) : textCreated(body);
  return created === undefined ? undefined : `created=${created}`;
}

/** The Go client's created timestamps (a registry of the job's own holds no process metrics), in seconds to the nanosecond. */
function protobufCreated(body: Buffer): string | undefined {
  const at = earliestCreated(body);
  return at === undefined ? undefined : `${at.seconds}.${String(at.nanos).padStart(9, '0')}`;
}

const CREATED_TYPE = Buffer.from('_created gauge', 'latin1');
const TYPE = Buffer.from('# TYPE ', 'latin1');

/** True when the line starting at `at` is a `# TYPE ` line. */
function isTypeLine(body: Buffer, at: number): boolean {
  if (at + TYPE.length > body.length) return false;
  for (let i = 0; i < TYPE.length; i++) if (body[at + i] !== TYPE[i]) return false;
  return true;
}

/**
 * A registry without process metrics (Python's `CollectorRegistry()`, as its README pushes): the earliest creation
 * time of its counters, histograms and summaries, from the `<name>_created` gauge prometheus_client writes right after
 * each such family in text 0.0.4. Stable while the process lives (a later counter has a later time), new with each
 * run. Only a `<name>_created` family that directly follows the family `<name>_total` or `<name>` typed counter,
 * histogram or summary counts, and only values that read as Unix seconds: a gauge of the user's that happens to end in
 * `_created` is not taken for a run. Linear: native searches, and each line read at most twice.
 */
function textCreated(body: Buffer): number | undefined {
  let earliest: number | undefined;
  let floor = 0; // lines before it were walked already
  for (let at = body.indexOf(CREATED_TYPE); at >= 0; at = body.indexOf(CREATED_TYPE, at + 1)) {
    const eol = at + CREATED_TYPE.length;
    if (eol < body.length && body[eol] !== 0x0a) continue; // the line goes on: not this type
    const lineStart = body.lastIndexOf(0x0a, at) + 1;
    if (!isTypeLine(body, lineStart)) continue;
    const name = body.toString('latin1', lineStart + TYPE.length, at);
    if (name === '' || name.includes(' ')) continue;
    // The TYPE line before it (walking back over its HELP and the samples of the family before): what it follows.
    let prev = -1;
    for (let ls = lineStart - 1; ls > floor; ) {
      const start = body.lastIndexOf(0x0a, ls - 1) + 1;
      if (isTypeLine(body, start)) {
        prev = start;
        break;
      }
      ls = start - 1;
    }
    floor = lineStart;
    if (prev < 0) continue;
    const previous = body.toString('latin1', prev + TYPE.length, body.indexOf(0x0a, prev)).trimEnd();
    if (previous !== `${name}_total counter` && previous !== `${name} counter` && previous !== `${name} histogram` && previous !== `${name} summary`) continue;
    const value = createdValues(body, eol + 1, `${name}_created`);
    if (value !== undefined && (earliest === undefined || value < earliest)) earliest = value;
  }
  return earliest;
}

/** The least value of the sample lines of `name` from `from` on (until another family), if every one is Unix seconds. */
function createdValues(body: Buffer, from: number, name: string): number | undefined {
  let least: number | undefined;
  for (let at = from; at < body.length; ) {
    let end = body.indexOf(0x0a, at);
    if (end < 0) end = body.length;
    const lineStart = at;
    at = end + 1;
    if (body[lineStart] === 0x23) {
      if (isTypeLine(body, lineStart)) break;
      continue; // # HELP or another comment
    }
    if (body.toString('latin1', lineStart, lineStart + name.length) !== name) break;
    let v = lineStart + name.length;
    if (body[v] === 0x7b) v = body.lastIndexOf(0x7d, end) + 1; // after the labels (`}` may be inside a quoted value)
    else if (body[v] !== 0x20 && body[v] !== 0x09) break; // a longer name
    while (v < end && (body[v] === 0x20 || body[v] === 0x09)) v++;
    let e = v;
    while (e < end && body[e] !== 0x20 && body[e] !== 0x09 && body[e] !== 0x0d) e++;
    const value = Number(body.toString('latin1', v, e));
    // Unix seconds between 2001 and 2286: anything else is no creation time.
    if (!(value >= 1e9 && value < 1e10)) return undefined;
    if (least === undefined || value < least) least = value;
  }
  return least;
}

/** The value of the first `process_start_time_seconds` sample line of a text exposition body. */
function textValue(body: Buffer): number | undefined {
  for (let at = body.indexOf(NAME); at >= 0; at = body.indexOf(NAME, at + 1)) {
    if (at > 0 && body[at - 1] !== 0x0a) continue; // inside a line: a comment (# TYPE …), a label value, a longer name
    const end = body.indexOf(0x0a, at);
    const line = body.toString('utf8', at + NAME.length, end < 0 ? body.length : end);
    let rest = line;
    if (rest.startsWith('{')) {
      // Skip the labels; a quoted value may hold `}` (escapes as the text format writes them).
      let i = 1;
      let quoted = false;
      for (; i < rest.length; i++) {
        const c = rest[i];
        if (quoted && c === '\\') i++;
        else if (c === '"') quoted = !quoted;
        else if (!quoted && c === '}') break;
      }
      rest = rest.slice(i + 1);
    } else if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') continue; // a longer name
    const token = rest.trim().split(/[ \t]+/)[0];
    if (token === undefined || token === '') return undefined;
    const value = Number(token);
    return Number.isNaN(value) ? undefined : value;
  }
  return undefined;
}
