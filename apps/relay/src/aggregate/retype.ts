/**
 * An input series created as `untyped` that then arrives typed: a Remote Write 1.0 sender (Prometheus) sends its
 * metadata in separate requests, every minute by default, so a series' first samples may come without a type. Read as
 * a gauge meanwhile, the series starts again as what it is when its first typed sample arrives: its gauge values leave
 * the outputs they fed, and a default output left with none ends (one stale sample at the next collect) so that the
 * typed series can take its name. A counter's first typed value then counts in full, as any new producer's does.
 * Untyped samples of an input already typed are read as its type (another ingest worker may not know the type yet).
 */
import { recomputeLast } from './outputs.js';
import { NEVER_FED, dropContribution, targetList } from './series.js';
import type { AggregateStore, InputSeries, Scope } from './series.js';

export function retireUntypedInput(store: AggregateStore, scope: Scope, input: InputSeries): void {
  // Out of its scope, never numbered in a checkpoint again (state-write.ts): a producer's value that had already
  // expired out of the outputs stays with the producer, pointing here, and is not written (it feeds nothing).
  scope.remove(input);
  if (input.targets === null) return;
  for (const t of targetList(input.targets)) {
    const gauge = t.gauge;
    if (gauge === null) continue;
    let lastLeft = false;
    for (const c of gauge.contribs) {
      if (c.input !== input) continue;
      gauge.contribs.delete(c);
      c.inGauges = false;
      if (c.owner.gauges?.get(input) === c) dropContribution(c.owner, c);
      if (gauge.tick === c.tick) lastLeft = true;
    }
    if (gauge.contribs.size === 0 && !t.dropped) {
      store.dropOutput(t);
      if (t.lastFed !== NEVER_FED) store.ended.push(t);
    } else {
      t.fedGen = store.generation;
      if (lastLeft && t.mode === 'last') recomputeLast(t);
    }
  }
}
