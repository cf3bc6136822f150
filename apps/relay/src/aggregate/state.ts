/**
 * The checkpoint form of an aggregate (`toState` / `fromState`): JSON-serialisable, numbers ±Inf/NaN as strings.
 * Version 3 keeps every table as columns (state-columns.ts): one array per field, sized once; label values, jobs,
 * families and other repeated strings as indices into one string table, label names as shapes, and the columns where
 * values repeat as runs; times count from one epoch. So taking it for 100k series allocates a few dozen arrays (15 MB
 * where version 2 took 74 MB) and JSON.stringify meets almost only small integers. Versions 1 and 2, written by
 * earlier relays, are still read (state-legacy.ts). Version 4 is version 3 with producer scopes per group, version 5
 * version 4 with input keys as a shared start and the rest. The shape is in state-format.ts, writing in
 * state-write.ts, reading versions 3 to 5 in state-read.ts. Works on the
 * aggregate's tables (`AggregateStore`), nothing else.
 */
import { AggregateError } from './errors.js';
import type { AggregateStore } from './series.js';
import { STATE_FORMAT, type AggregateState } from './state-format.js';
import { readRows, type RowState, type StateV2 } from './state-legacy.js';
import { readColumns } from './state-read.js';

export type { AggregateState } from './state-format.js';
export { writeState } from './state-write.js';

/** Rebuilds the tables of a fresh aggregate from a version 1 to 5 state; `AggregateError` on foreign or corrupt input. */
export function readState(state: unknown, store: AggregateStore): void {
  const given = state as AggregateState | StateV2 | RowState;
  if (given === null || typeof given !== 'object' || given.format !== STATE_FORMAT || (given.version !== 1 && given.version !== 2 && given.version !== 3 && given.version !== 4 && given.version !== 5)) {
    throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `not an aggregate state (expected format ${STATE_FORMAT} version 1 to 5)`);
  }
  try {
    if (given.version === 1 || given.version === 2) readRows(given, store);
    else readColumns(given, store);
  } catch (cause) {
    if (cause instanceof AggregateError) throw cause;
    throw new AggregateError('PROM_RELAY_AGGREGATE_STATE', `aggregate state is corrupt: ${String(cause)}`, { cause });
  }
}
