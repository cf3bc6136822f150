// The types that cross the relay's stage boundaries: decode -> aggregate -> flush -> checkpoint.
import type { Exemplar, Histogram, Labels, MetricMetadata } from '@prom-relay/codec';
import type { NativeHistogram } from './aggregate/native-histogram.js';

export type Temporality = 'cumulative' | 'delta';
export type InputMetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type PushOp = 'push' | 'add' | 'delete';

/** Where a message came from; carried so DLQ entries and checkpoints can name it. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string; // kafkajs offsets are decimal strings
}

/** One sample of one input series, after decoding. Histogram and summary parts arrive flattened
 *  (`x_bucket{le=..}`, `x_sum`, `x_count`, `x{quantile=..}`) with `family` and `type` of the family. */
export interface InputPoint {
  family: string; // metric family name, e.g. `http_request_duration_seconds`
  type: InputMetricType;
  labels: Labels; // full label set incl. __name__, job and grouping labels
  value: number;
  temporality?: Temporality; // per-point override (JSON lines)
  /**
   * The sample's own time (ms), where the format carries one (Remote Write). A producer's sample of a series older than
   * the newest one it applied is left out (counted as a duplicate): a retried or delayed request, never a reset.
   */
  timestamp?: number;
  /** Optional identity of `labels` within the batch's job + grouping: equal keys in batches with equal job and
   *  grouping must mean equal labels. Decoders set it when it is cheaper than the labels (e.g. the raw series text
   *  of an exposition line); the aggregate caches its series lookup by it. Absent: the aggregate derives one. */
  key?: string;
  /**
   * A native histogram sample (Remote Write `histograms`, the Go client's protobuf push): the codec's wire form,
   * integer (deltas) or float (counts). Its point has `type: 'histogram'`, `family` = `__name__` (no suffix), `value` 0.
   */
  histogram?: Histogram;
  /**
   * The latest exemplar of the input series (Remote Write), within the limits (exemplars.ts): on the series' last
   * point only. The aggregate keeps the latest per output series and hands it to the flush once.
   */
  exemplar?: Exemplar;
  /**
   * The point only carries `exemplar` (a series of exemplars alone, as Prometheus sends them beside the samples): no
   * value. The aggregate gives the exemplar to the output series of the input series with these labels, when it has
   * one, and creates nothing.
   */
  exemplarOnly?: true;
  /**
   * A Prometheus staleness marker (Remote Write): the series ended at its sender (its target went away). No value:
   * the producer's gauge contribution to the series leaves its outputs at once; a running total ignores it.
   */
  staleMarker?: true;
}

/** One decoded Kafka message: a producer's push. Applied to the aggregate atomically. */
export interface IngestBatch {
  producerId: string;
  sequence?: number;
  job: string;
  grouping: Labels; // grouping labels from headers (incl. instance), without job
  temporality: Temporality;
  op: PushOp;
  points: InputPoint[];
  position?: SourcePosition;
  /** type, help and unit of families, where the input format carries them (text HELP, Remote Write metadata) */
  metadata?: MetricMetadata[];
  /**
   * The body carries samples, not its sender's whole state in the group (Remote Write: a Prometheus request holds
   * some of a target's series; JSON lines: the emitter's `emit`): it replaces none of the group's gauges, whatever its
   * `op` (aggregate/group-ends.ts). Text and protobuf MetricFamily bodies are a registry's snapshot, as a Pushgateway's.
   */
  partial?: true;
  /** forwarded by a relay from the partition it landed on to its producer's home partition: may arrive after later pushes */
  forwarded?: boolean;
}

/** How the partials of one output series from several source partitions combine (see aggregate/combine.ts). */
export type CombineMode = 'total' | 'last' | 'sum' | 'min' | 'max' | 'avg' | 'native';

/** One output series as the flush sends it. */
export interface OutputSample {
  labels: Labels; // incl. __name__
  value: number;
  stale?: boolean; // staleness marker: series expired
  /** Set by a source partition's aggregate: how this partial combines with other partitions' (repartition stage). */
  combine?: CombineMode;
  /** `avg`: the sum and number of live contributions behind `value` (the mean). */
  sum?: number;
  count?: number;
  /** `last`: when the value was applied (ms, the record's timestamp). */
  at?: number;
  /** the labels' canonical key (`labelsKey`), when the aggregate has it at hand */
  key?: string;
  /** counters written by an owner: when the output series began (ms), sent as the RW 2.0 start timestamp */
  start?: number;
  /** `native`: the running total of a native histogram (`value` is its count) */
  histogram?: NativeHistogram;
  /** the latest exemplar of the series, set only when new since the last collect (sent once) */
  exemplar?: Exemplar;
  /**
   * A total's or native histogram's end (`stale`) by a whole-job delete: the series' final running total (`histogram`:
   * native), which its source may not have said yet (pushed after its last publish), and the source offset of the
   * delete's record (`offset`; the same when the record is applied again after a crash: it names a restart).
   */
  final?: { value: number; histogram?: NativeHistogram; offset?: number };
}

/** What tells one record from another at the same offset of a partition: its Kafka timestamp and its bytes. */
export interface RecordMark {
  timestamp: string;
  bytes: number;
}

/** What the aggregate of one partition serialises into a checkpoint. Opaque to other stages. */
export interface Checkpoint {
  version: 1;
  topic: string;
  partition: number;
  /** next offset to consume (last applied offset + 1) */
  offset: string;
  /**
   * Added to the partition's offsets in what the state publishes and names (absent: 0): raised each time the partition's
   * log started again at lower offsets (its topic recreated), so that they keep growing (see OwnedPartition.offsetBase).
   */
  offsetBase?: string;
  /**
   * The record at `offset - 1` (the last the state covers): its timestamp and size, so that a restore can tell the log it
   * came from from a log started again that holds as many records (see LogRestarts.checkAtRestore). Absent: unknown.
   */
  lastRecord?: RecordMark;
  /** last flush timestamp (ms) written for this partition's series: flushes stay strictly increasing across restarts */
  lastFlushTimestamp: number;
  state: unknown;
}
