// The aggregate's label limits as it applies them (aggregate/partition-aggregate.ts: a grouping value, then each new
// input series' labels, job and grouping included), checked by the ingest before it answers 2xx. decodeRecord's limits
// bound what a body writes (a text or JSON lines body, while parsing); the job and grouping labels the headers add, and
// Remote Write and protobuf series, pass it: the aggregate then refuses their points after the ingest acknowledged.
import { DecodeError, describeSeries } from '../decode/index.js';
import type { DecodeOptions } from '../decode/index.js';
import type { InputPoint } from '../model.js';

type Limits = NonNullable<DecodeOptions['limits']>;

/** A limit the aggregate would refuse points at (decodeRecord takes the message): its message names the series. */
export class AggregateLimitError extends DecodeError {
  constructor(message: string) {
    super('PROM_RELAY_DECODE_LIMIT', message);
  }
}

function tooLong(what: string, max: number): AggregateLimitError {
  return new AggregateLimitError(`${what} is longer than ${max} characters (limit maxLabelValueLength)`);
}

/** AggregateLimitError when the job name or a grouping value is longer than the aggregate takes (for every op but delete). */
export function checkGroupValues(job: string, grouping: Readonly<Record<string, string>>, limits: Limits | undefined): void {
  const max = limits?.maxLabelValueLength;
  if (max === undefined) return;
  if (job.length > max) throw tooLong('the job name', max);
  for (const [name, value] of Object.entries(grouping)) if (value.length > max) throw tooLong(`the value of grouping label ${name}`, max);
}

/** AggregateLimitError naming the first point whose labels (job and grouping included) the aggregate would refuse. */
export function checkPointLabels(points: readonly InputPoint[], limits: Limits | undefined): void {
  const maxLabels = limits?.maxLabelsPerSeries ?? Infinity;
  const maxLength = limits?.maxLabelValueLength ?? Infinity;
  if (maxLabels === Infinity && maxLength === Infinity) return;
  for (const point of points) {
    const labels = point.labels;
    let count = 0;
    for (const name in labels) {
      count++;
      // As the aggregate counts: the metric name is one of the labels, its length is not limited.
      if (name !== '__name__' && labels[name]!.length > maxLength) throw tooLong(`series ${describeSeries(labels)}: the value of label ${name}`, maxLength);
    }
    if (count > maxLabels) {
      throw new AggregateLimitError(`series ${describeSeries(labels)} has ${count} labels (its name, job and grouping labels counted), more than ${maxLabels} (limit maxLabelsPerSeries)`);
    }
  }
}

/** Per decode options, per count of header labels: the same object each time (the skeleton check compares limits by identity). */
const roomMade = new WeakMap<DecodeOptions, Map<number, DecodeOptions>>();

/**
 * The decode options for a text check that is sure only when every series keeps within maxLabelsPerSeries with the
 * `headerLabels` labels the headers add (job and grouping): its parser counts the body's labels alone. A series that
 * writes one of those labels itself is counted twice here, so a "no" is checked again exactly (checkPointLabels).
 * Undefined when the header labels leave no room at all: only the exact check can tell then.
 */
export function roomForHeaderLabels(decode: DecodeOptions, headerLabels: number): DecodeOptions | undefined {
  const max = decode.limits?.maxLabelsPerSeries;
  if (max === undefined || headerLabels === 0) return decode;
  if (max - headerLabels < 1) return undefined;
  let byCount = roomMade.get(decode);
  if (byCount === undefined) roomMade.set(decode, (byCount = new Map()));
  let made = byCount.get(headerLabels);
  if (made === undefined) {
    made = { ...decode, limits: { ...decode.limits, maxLabelsPerSeries: max - headerLabels } };
    byCount.set(headerLabels, made);
  }
  return made;
}
