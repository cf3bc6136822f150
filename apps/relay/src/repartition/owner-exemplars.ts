// The exemplars an owner holds for its output series (SeriesCombiner): the newest of each series, sent once with the
// series' sample, and never one at or below the last one sent (also after a restart: see SeriesCombiner.toState).
import type { Exemplar } from '@prom-relay/codec';
import { isNewerExemplar } from '../exemplars.js';

/**
 * The latest exemplar of an output series (kept by timestamp; see isNewerExemplar), `fresh` until a collect sent it.
 * `sent`: the timestamp of the last one sent (ms; 0 none). Prometheus refuses an exemplar older than the last one it
 * stored for a series (in Remote Write 2.0 with a 400 for the whole request), so none at or below it goes out again,
 * also after a restart: `sent` is in the state (the exemplar itself is not).
 */
export interface HeldExemplar {
  exemplar: Exemplar | null;
  fresh: boolean;
  sent: number;
}

/** The newest exemplar of a series: kept when newer than the one held and than the last one sent; true if kept. */
export function holdExemplar(exemplars: Map<string, HeldExemplar>, id: string, e: Exemplar): boolean {
  const held = exemplars.get(id);
  if (held === undefined) {
    exemplars.set(id, { exemplar: e, fresh: true, sent: 0 });
    return true;
  }
  if (e.timestamp !== undefined && e.timestamp !== 0 && e.timestamp <= held.sent) return false;
  if (!isNewerExemplar(e, held.exemplar ?? undefined)) return false;
  held.exemplar = e;
  held.fresh = true;
  return true;
}

/** The exemplar to send with a series' sample at `nowMs`, once; one without a timestamp is stamped with the flush's. */
export function takeExemplar(exemplars: Map<string, HeldExemplar>, id: string, nowMs: number): Exemplar | undefined {
  const held = exemplars.get(id);
  if (held === undefined || !held.fresh || held.exemplar === null) return undefined;
  held.fresh = false;
  const e = held.exemplar;
  const ts = e.timestamp !== undefined && e.timestamp !== 0 ? e.timestamp : nowMs;
  if (ts <= held.sent) return undefined;
  held.sent = ts;
  return ts === e.timestamp ? e : { ...e, timestamp: ts };
}
