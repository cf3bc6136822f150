import type { Grouping } from '@prom-relay/emitter';
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
  // The name is stored as plain bytes in both formats: a push without it costs one search.
  if (body.indexOf(NAME) < 0) return undefined;
  const value = contentType !== undefined && isMetricFamilyProtobuf(contentType) ? familyValue(body, PROCESS_START_METRIC) : textValue(body);
  return value !== undefined && Number.isFinite(value) && value > 0 ? `process_start=${value}` : undefined;
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
