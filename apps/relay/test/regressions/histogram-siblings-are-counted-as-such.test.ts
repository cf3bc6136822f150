// A histogram's (or summary's) points are applied together: when one is refused (an invalid value, a type conflict, a
// limit), its siblings are left out too. They were counted in prom_relay_points_rejected_total{reason="limit"} whatever
// refused the first one (the counter took every rejection that was not invalid or a conflict for a limit): a NaN
// bucket read as a limit hit. Now they have their own reason, `sibling`.
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { RelayMetrics } from '../../src/server/metrics.js';
import { batch, histogram, options } from '../aggregate/fixtures.js';

it('the siblings of a refused histogram point are counted as siblings, not as limit hits', async () => {
  const agg = new PartitionAggregate(options());
  const points = histogram('lat', { '1': 1, '5': NaN, '+Inf': 3 }, 2, 3);
  const result = agg.apply(batch({ producer: 'p1', points }), 1000);
  expect(result).toMatchObject({ accepted: 0, rejected: 5, invalid: 1, siblings: 4, typeConflicts: 0 });
  const registry = new Registry();
  const metrics = new RelayMetrics(() => [], registry);
  metrics.applied(result);
  const rejected = await registry.getSingleMetric('prom_relay_points_rejected_total')!.get();
  const byReason = Object.fromEntries(rejected.values.map((v) => [v.labels['reason'], v.value]));
  expect(byReason).toEqual({ invalid: 1, sibling: 4 });
});
