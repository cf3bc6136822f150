/**
 * The shape of an aggregate's checkpoint state, version 5 (`AggregateState`): what state-write.ts writes and
 * state-read.ts reads. Each table is columns (state-columns.ts); references are row indices. Version 4 is version 3's
 * columns with a producer scope per group (`pscopes.key`: the input scope's key, U+0001, the producer-label values)
 * and bit 1 of `contribs.inGauges` (the value came in a snapshot). A version 3 state (the producer-label values alone,
 * bit 1 never set), which relays before it wrote, reads through the same code: a row is split by its inputs' scopes.
 * Version 5 is version 4 with input keys as the aggregate keeps them (InputSeries keyHead, keyTail): `inputs.head`
 * names the start a key shares with others of its scope (written once, in the string table) and `inputs.key` holds
 * the rest. A new version, not new meanings of older fields: a relay of an older version refuses it instead of
 * misreading it.
 */
import type { HistogramState } from './native-histogram.js';
import type { Runs } from './state-columns.js';
import type { EncodedNumber } from './state-legacy.js';

export const STATE_FORMAT = 'prom-relay.aggregate';

/**
 * What `toState` returns; opaque to other stages (the checkpoint stores it as JSON). Each table is columns, in the
 * order of the aggregate's own tables; a reference is a row index. `targets` (of an input or a contribution): an
 * output index, -1 for none, or -2-k for k outputs listed next in `targetList`. A `Runs` column is a list of
 * non-negative integers where `-c, v` stands for c times v (a run of one value, common there, costs two numbers).
 */
export interface AggregateState {
  format: typeof STATE_FORMAT;
  version: 3 | 4 | 5;
  tick: number;
  /** ms since the Unix epoch that every time in the state (lastFed, lastSeen) counts from: the newest output feed */
  epoch: number;
  /** label names and values, modes, jobs, families, types and group keys, once each */
  strings: string[];
  /** label name lists (string indices), once each: an output's labels are its shape's names with its values */
  shapes: number[][];
  /** output series fed at least once */
  outputs: {
    shape: Runs;
    /** label values (string indices) by position: `labels[j]` has the j-th value of each output with more than j */
    labels: Runs[];
    mode: Runs;
    job: Runs;
    value: EncodedNumber[];
    lastFed: number[];
    /** indices of the outputs that are a rule's */
    rule: number[];
    /** `native` outputs: index and running histogram, flat */
    native: Array<number | HistogramState>;
  };
  /** outputs of a gauge mode: what they keep besides the output (`refs`: each contribution's scope and input) */
  gauges: { output: number[]; tick: number[]; buckets: number[]; contribs: number[]; refs: number[]; valueAt?: number[] };
  /** valueHistogram bucket bounds, once each (`gauges.buckets` is an index, -1 for none) */
  bucketSets: number[][];
  /** scope key and how many of the inputs (in order) are its */
  scopes: { key: string[]; inputs: number[] };
  /**
   * `group`: 1 + the string index of the group key, 0 for none. `head` (version 5): 1 + the string index of the start
   * of the key the input shares with others of its scope, 0 for none; `key` is then the rest of its key (before version
   * 5: the key whole, no `head`).
   */
  inputs: { key: string[]; head?: Runs; family: Runs; type: Runs; flags: Runs; group: Runs; lastFed: number[]; targets: number[] };
  targetList: number[];
  producers: { id: string[]; job: number[]; lastSeq: number[]; lastSeen: number[]; scopes: number[] };
  /** the producers' scopes, in order (`producers.scopes` of each), with how many counters and contributions are theirs */
  /** lastSeen: optional (states written before it: the producer's) */
  pscopes: { key: string[]; counters: number[]; gauges: number[]; lastSeen?: number[] };
  /** counter baselines by scope (input index, last cumulative value) */
  counters: { input: number[]; value: EncodedNumber[] };
  /** gauge contributions by scope (`inGauges`: bit 0 in its outputs, bit 1 last set by a snapshot: Contribution.flagBits) */
  contribs: { input: number[]; value: EncodedNumber[]; lastFed: number[]; tick: number[]; inGauges: number[]; seq: number[]; targets: number[] };
  /** native histogram baselines: scope index, input index and histogram, flat */
  natives: Array<number | HistogramState>;
  /** newest sample time applied per producer scope and input (Remote Write): scope index, input index, time (ms after `epoch`: small), flat */
  stamps?: number[];
}
