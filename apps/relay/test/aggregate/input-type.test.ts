// Rules that declare what their inputs are (`inputType`): Flink's reporter writes its counters as `# TYPE … gauge`.
import { describe, expect, it } from 'vitest';
import { AggregateError, PartitionAggregate } from '../../src/aggregate/index.js';
import type { AggregationRule } from '../../src/aggregate/index.js';
import { loadConfig } from '../../src/config/index.js';
import { aggregateOptions } from '../../src/pipeline.js';
import { batch, byId, counter, gauge, histogram, options, point } from './fixtures.js';

const agg = (rules: AggregationRule[]) => new PartitionAggregate(options({ rules }));

/** One Flink run: its job name, per-run labels and, per subtask, the counter's value. */
function flinkPush(run: string, values: number[], extra: Array<ReturnType<typeof gauge>> = []) {
  return batch({
    producer: `pushgateway/job=flink${run}`,
    job: `flink${run}`,
    points: [
      ...values.map((v, subtask) =>
        gauge('flink_taskmanager_job_task_operator_numRecordsIn', v, {
          job_name: 'count',
          operator_name: 'map',
          job_id: `id-${run}`,
          tm_id: `tm-${run}`,
          task_attempt_id: `att-${run}-${subtask}`,
          subtask_index: String(subtask),
        }),
      ),
      ...extra,
    ],
  });
}

describe('inputType: counter reads gauge-typed samples as cumulative counters', () => {
  it('a rule with inputType alone: the default output becomes a running total over producers and runs', () => {
    const without = agg([]);
    const typed = agg([{ match: 'records', inputType: 'counter' }]);
    for (const a of [without, typed]) {
      a.apply(batch({ producer: 'run1', points: [gauge('records', 5)] }), 1000);
      a.apply(batch({ producer: 'run1', points: [gauge('records', 8)] }), 2000);
      a.apply(batch({ producer: 'run2', points: [gauge('records', 3)] }), 3000);
    }
    // As a gauge: the last value; as a counter: 8 from run 1, then run 2 starts at zero and adds its 3.
    expect(byId(without.collect(3000))).toEqual({ 'records{job="job1"}': 3 });
    expect(byId(typed.collect(3000))).toEqual({ 'records{job="job1"}': 11 });
    // A reset (a task restarted from zero) is all increase, as for any counter.
    typed.apply(batch({ producer: 'run2', points: [gauge('records', 1)] }), 4000);
    expect(byId(typed.collect(4000))).toEqual({ 'records{job="job1"}': 12 });
  });

  it('Flink preset shape: summed by stable labels across subtasks and runs; kept through the whole-job DELETE; gauges stay gauges', () => {
    const rules: AggregationRule[] = [
      { match: '{__name__=~"flink_taskmanager_job_task_operator_numRecordsIn"}', inputType: 'counter', by: ['job_name', 'operator_name'], outputs: ['total'] },
    ];
    const a = agg(rules);
    const heap = (run: string, v: number) => gauge('flink_taskmanager_Status_JVM_Memory_Heap_Used', v, { tm_id: `tm-${run}` });
    a.apply(flinkPush('A', [300, 200], [heap('A', 64)]), 1000);
    a.apply(flinkPush('A', [600, 400], [heap('A', 80)]), 2000);
    const total = 'flink_taskmanager_job_task_operator_numRecordsIn:by_job_name_operator_name_total{job_name="count",operator_name="map"}';
    expect(byId(a.collect(2000))).toEqual({ [total]: 1000, 'flink_taskmanager_Status_JVM_Memory_Heap_Used{job="flinkA",tm_id="tm-A"}': 80 });
    // Flink's deleteOnShutdown: DELETE /metrics/job/<job>, no grouping labels: the job ends, its gauges with it.
    a.apply(batch({ producer: 'pushgateway/job=flinkA', job: 'flinkA', op: 'delete' }), 3000);
    expect(byId(a.collect(3000))).toEqual({ [total]: 1000, 'flink_taskmanager_Status_JVM_Memory_Heap_Used{job="flinkA",tm_id="tm-A"}': 'stale' });
    // The next run (a new random job name, new ids, new attempts) adds to the same total.
    a.apply(flinkPush('B', [700, 300]), 4000);
    expect(byId(a.collect(4000))[total]).toBe(2000);
    // Without inputType the same rule gives the same total (total is a running total whatever the type) …
    const untyped = agg([{ ...rules[0]!, inputType: undefined }]);
    untyped.apply(flinkPush('A', [600, 400]), 1000);
    expect(byId(untyped.collect(1000))[total]).toBe(1000);
    // … but keep_input's default output follows the declared type: a total, not the last subtask's value.
    const kept = agg([{ ...rules[0]!, keepInput: true }]);
    const keptUntyped = agg([{ ...rules[0]!, keepInput: true, inputType: undefined }]);
    for (const k of [kept, keptUntyped]) k.apply(flinkPush('A', [600, 400]), 1000);
    const one = 'flink_taskmanager_job_task_operator_numRecordsIn{job="flinkA",job_id="id-A",job_name="count",operator_name="map",subtask_index="1",task_attempt_id="att-A-1",tm_id="tm-A"}';
    kept.apply(flinkPush('A', [650, 450]), 2000);
    keptUntyped.apply(flinkPush('A', [650, 450]), 2000);
    kept.apply(batch({ producer: 'pushgateway/job=flinkA/run=2', job: 'flinkA', points: flinkPush('A', [0, 5]).points }), 3000);
    keptUntyped.apply(batch({ producer: 'pushgateway/job=flinkA/run=2', job: 'flinkA', points: flinkPush('A', [0, 5]).points }), 3000);
    expect(byId(kept.collect(3000))[one]).toBe(455);
    expect(byId(keptUntyped.collect(3000))[one]).toBe(5);
  });

  it('a negative value of a series read as a counter is rejected as invalid (an output counter never goes down)', () => {
    const a = agg([{ match: 'records', inputType: 'counter' }]);
    const r = a.apply(batch({ producer: 'p', points: [gauge('records', -1)] }), 1000);
    expect(r.invalid).toBe(1);
    expect(byId(a.collect(1000))).toEqual({});
  });
});

describe('inputType: gauge, precedence, what keeps its own type', () => {
  it('inputType: gauge reads a counter as a gauge: the last value, no sum over producers', () => {
    const a = agg([{ match: 'level_total', inputType: 'gauge' }]);
    a.apply(batch({ producer: 'p1', points: [counter('level_total', 7)] }), 1000);
    a.apply(batch({ producer: 'p2', points: [counter('level_total', 4)] }), 2000);
    expect(byId(a.collect(2000))).toEqual({ 'level_total{job="job1"}': 4 });
  });

  it('the first matching rule that declares a type decides; rules without one do not count', () => {
    const a = agg([
      { match: '{__name__=~"x.*"}', by: ['job'], outputs: ['max'], keepInput: true },
      { match: 'x', inputType: 'counter' },
      { match: '{__name__=~"x|y"}', inputType: 'gauge' },
    ]);
    for (const [producer, v] of [['p1', 2], ['p2', 3]] as const) a.apply(batch({ producer, points: [gauge('x', v), counter('y', v)] }), 1000);
    expect(byId(a.collect(1000))).toEqual({ 'x:by_job_max{job="job1"}': 3, 'x{job="job1"}': 5, 'y{job="job1"}': 3 });
  });

  it('histogram and summary parts keep their own type: a rule over every name does not turn quantiles into sums', () => {
    const a = agg([{ match: '{__name__=~".+"}', inputType: 'gauge' }]);
    const summary = [point('lat', 'summary', 0.5, { quantile: '0.5' }), point('lat_sum', 'summary', 10, {}, 'lat'), point('lat_count', 'summary', 4, {}, 'lat')];
    for (const producer of ['p1', 'p2']) {
      a.apply(batch({ producer, points: [...histogram('h', { '1': 1, '+Inf': 2 }, 3, 2), ...summary] }), 1000);
    }
    const out = byId(a.collect(1000));
    expect(out['h_count{job="job1"}']).toBe(4);
    expect(out['lat_count{job="job1"}']).toBe(8);
    expect(out['lat{job="job1",producer="p1",quantile="0.5"}']).toBe(0.5);
  });

  it('the declared type is kept in the checkpoint: a restored aggregate goes on counting', () => {
    const opts = options({ rules: [{ match: 'records', inputType: 'counter' }] });
    const a = new PartitionAggregate(opts);
    a.apply(batch({ producer: 'p', points: [gauge('records', 5)] }), 1000);
    const b = PartitionAggregate.fromState(JSON.parse(JSON.stringify(a.toState())), opts);
    b.apply(batch({ producer: 'p', points: [gauge('records', 9)] }), 2000);
    b.apply(batch({ producer: 'q', points: [gauge('records', 1)] }), 2000);
    expect(byId(b.collect(2000))).toEqual({ 'records{job="job1"}': 10 });
  });

  it('bad rules are refused naming the field', () => {
    const bad = (rule: unknown) => () => new PartitionAggregate(options({ rules: [rule as AggregationRule] }));
    expect(bad({ match: 'x', inputType: 'histogram' })).toThrow(/rules\[0\]\.inputType: unknown input type "histogram"; expected one of counter, gauge/);
    expect(bad({ match: 'x', inputType: 'counter', by: ['a'] })).toThrow(/rules\[0\]\.by: needs outputs/);
    expect(bad({ match: 'x' })).toThrow(/rules\[0\]\.outputs: required \(or inputType alone/);
    expect(bad({ match: 'x', inputType: 'counter', keepInput: true })).toThrow(AggregateError);
  });
});

describe('config: aggregation.rules[].input_type', () => {
  it('reaches the aggregate from YAML; a rule may be input_type alone', () => {
    const config = loadConfig({
      text: [
        'aggregation:',
        '  rules:',
        '    - { match: records, input_type: counter }',
        '    - { match: flink_x, input_type: counter, by: [job_name], outputs: [total] }',
      ].join('\n'),
      env: {},
    });
    const rules = aggregateOptions(config).rules;
    expect(rules[0]).toEqual({ match: 'records', inputType: 'counter', keepInput: false });
    expect(rules[1]).toMatchObject({ match: 'flink_x', inputType: 'counter', by: ['job_name'], outputs: ['total'] });
    const a = new PartitionAggregate({ ...aggregateOptions(config), limits: options().limits });
    a.apply(batch({ producer: 'p1', points: [gauge('records', 2)] }), 1000);
    a.apply(batch({ producer: 'p2', points: [gauge('records', 3)] }), 1000);
    expect(byId(a.collect(1000))).toEqual({ 'records{job="job1"}': 5 });
  });

  it('errors name the key path', () => {
    const issues = (yaml: string): string[] => {
      try {
        loadConfig({ text: yaml, env: {} });
      } catch (err) {
        return ((err as { issues: Array<{ path: string; message: string }> }).issues ?? []).map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues('aggregation:\n  rules:\n    - { match: x, input_type: histogram }').join('\n')).toMatch(/aggregation\.rules\.0\.input_type/);
    expect(issues('aggregation:\n  rules:\n    - { match: x }').join('\n')).toMatch(/aggregation\.rules\.0\.outputs: a rule needs outputs \(or input_type alone/);
    expect(issues('aggregation:\n  rules:\n    - { match: x, input_type: counter, by: [a] }').join('\n')).toMatch(/aggregation\.rules\.0\.by: by needs outputs/);
  });
});

describe('one series, one type', () => {
  const push = (producer: string, points: ReturnType<typeof gauge>[]) => batch({ producer, grouping: { instance: producer }, points });

  it('a gauge where its series is a counter (another instance of the job) is refused, not added up as a counter', () => {
    const a = new PartitionAggregate(options());
    a.apply(push('a', [counter('m', 5)]), 1000);
    const r = a.apply(push('b', [gauge('m', 7)]), 1000);
    expect(r.typeConflicts).toBe(1);
    expect(r.accepted).toBe(0);
    expect(byId(a.collect(1000))).toEqual({ 'm{job="job1"}': 5 });
  });

  it('a counter where its series is a gauge is refused, not read as a gauge', () => {
    const a = new PartitionAggregate(options());
    a.apply(push('a', [gauge('m', 5)]), 1000);
    const r = a.apply(push('b', [counter('m', 1)]), 1000);
    expect(r.typeConflicts).toBe(1);
    expect(byId(a.collect(1000))).toEqual({ 'm{job="job1"}': 5 });
  });

  it('untyped samples still take the type of their series, and a series first seen untyped takes its type when it comes', () => {
    const a = new PartitionAggregate(options());
    a.apply(push('a', [counter('m', 5)]), 1000);
    expect(a.apply(push('b', [point('m', 'untyped', 2)]), 1000).accepted).toBe(1);
    expect(byId(a.collect(1000))).toEqual({ 'm{job="job1"}': 7 });
    a.apply(push('c', [point('n', 'untyped', 2)]), 1000);
    expect(a.apply(push('c', [counter('n', 3)]), 2000).accepted).toBe(1);
  });
});
