// Whole-job deletes through the repartition stage, at random: runs of one job push a counter (or a native histogram)
// through two source partitions, DELETEs reach each partition at its own pace, sources publish (or fail to:
// acknowledgement lost, or nothing delivered), crash and replay from their checkpoint (or are taken over while the
// relay that had them goes on publishing what it had), and the owner consumes the partials at its own pace, collects,
// crashes and replays from its own checkpoint, in any order. Whatever happens, what the owner wrote counts exactly what the runs pushed: the sum, over the
// series' segments (a segment is one start timestamp: a counter from zero), of each segment's last value; and the
// series ends with a staleness marker. Seeds that fail are named in the message, to be replayed (SEED0=n SEED1=n, and
// DEBUG=1 for what each publish said and each collect wrote; OPS=n steps per seed). It found the cases of
// ends-of-a-lost-publish-survive-a-source-crash and of the owner's rules for replays (combiner.ts, saidBefore).
import { describe, expect, it } from 'vitest';
import type { ProducedMessage } from '../../src/kafka/index.js';
import { toWire } from '../../src/aggregate/native-histogram.js';
import type { IngestBatch, InputPoint, OutputSample } from '../../src/model.js';
import { PartialsPublisher, SeriesCombiner, SourceState, decodePartials } from '../../src/repartition/index.js';
import { batch, counter, rng } from '../aggregate/fixtures.js';
import { OPTS, OWNER, T0, find, viaJson } from '../lib/partials-pipeline.js';

type Kind = 'counter' | 'native';
const NAME: Record<Kind, string> = { counter: 'rows_total', native: 'rpc_seconds' };

/** A run's running total as its push carries it: a counter, or a native histogram of `n` observations. */
function point(kind: Kind, n: number): InputPoint {
  if (kind === 'counter') return counter(NAME.counter, n);
  const positive = new Map([
    [1, Math.floor(n / 2)],
    [4, n - Math.floor(n / 2)],
  ]);
  const h = { schema: 2, zeroThreshold: 0.001, zeroCount: 0, count: n, sum: n * 1.5, positive, negative: new Map<number, number>(), float: false };
  return { family: NAME.native, type: 'histogram', labels: { __name__: NAME.native }, value: 0, histogram: { ...toWire(h, 0), resetHint: 'unknown' } };
}

/** A sample's running total: its value, or its histogram's count. */
const total = (s: OutputSample) => s.histogram?.count ?? s.value;

interface Source {
  name: string;
  state: SourceState;
  /** every record applied, by offset (a replay applies them again) */
  records: IngestBatch[];
  checkpoint: { state: unknown; offset: number };
  run: { id: string; value: number } | null;
  /** DELETEs produced to this partition that it has not applied yet */
  pending: number;
  /** the relay that had the partition before a takeover, still publishing what it had (a late writer) */
  ghost: { state: SourceState; offset: number } | null;
}

async function scenario(kind: Kind, seed: number, ops: number): Promise<{ expected: number; written: OutputSample[]; trace: string[] }> {
  const random = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const trace: string[] = [];
  let now = T0;
  let runs = 0;
  let expected = 0;
  const sources: Source[] = ['in/0', 'in/1'].map((name) => {
    const state = SourceState.create(OPTS, 3_600_000);
    return { name, state, records: [], checkpoint: { state: viaJson(state.toState()), offset: 0 }, run: null, pending: 0, ghost: null };
  });
  let owner = new SeriesCombiner(OWNER);
  // The partials topic: what was delivered, in order; the owner consumes it at its own pace, and is checkpointed with
  // the position its collect covers.
  const topic: Buffer[] = [];
  let consumed = 0;
  let ownerCheckpoint = { state: viaJson(owner.toState()), position: 0 };
  const written: OutputSample[] = [];
  const consume = (upTo: number) => {
    for (; consumed < Math.min(upTo, topic.length); consumed++) {
      const b = decodePartials(topic[consumed]!);
      if (process.env.DEBUG) {
        trace.push(`  @${b.offset}${b.part ? '/' + b.part : ''} ${b.source}: ${b.series.map((p) => (p.stale ? `end(${p.final?.value ?? ''} ${p.end ?? ''}${p.restart !== undefined ? ' r' + p.restart : ''})` : `${p.value}${p.restart !== undefined ? ' r' + p.restart : ''}`)).join(' ')}`);
      }
      owner.apply(b, now);
    }
  };

  let delivery: 'ok' | 'lost-ack' | 'lost' = 'ok';
  const producer = {
    send: async (_topic: string, messages: ProducedMessage[]) => {
      if (delivery !== 'lost') for (const m of messages) topic.push(m.value as Buffer);
      if (delivery !== 'ok') throw new Error('request timed out');
    },
  };
  const publisher = new PartialsPublisher(producer as never, 'partials', 1);

  const apply = (s: Source, b: IngestBatch) => {
    b.position = { topic: 'in', partition: Number(s.name.slice(3)), offset: String(s.records.length) };
    s.records.push(b);
    s.state.apply(b, now);
  };
  const catchUp = (s: Source) => {
    for (; s.pending > 0; s.pending--) {
      apply(s, batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }));
      s.run = null;
    }
  };
  const push = (s: Source) => {
    catchUp(s);
    s.run ??= { id: `run${++runs}`, value: 0 };
    const add = Math.floor(random() * 6);
    s.run.value += add;
    expected += add;
    apply(s, batch({ producer: s.run.id, job: 'etl', points: [point(kind, s.run.value)] }));
  };
  const publish = async (s: Source, how: typeof delivery) => {
    const samples = s.state.collect(now);
    // The flusher checkpoints a source with the state of its collect, whatever becomes of the publish.
    if (random() < 0.5) s.checkpoint = { state: viaJson(s.state.toState()), offset: s.records.length };
    delivery = how;
    await publisher.publish([{ source: s.name, offset: BigInt(s.records.length), samples }]).catch(() => s.state.publishAll());
    delivery = 'ok';
  };
  const collect = () => {
    // Mostly the owner has consumed everything before it collects; sometimes it is behind.
    consume(random() < 0.7 ? topic.length : consumed + Math.floor(random() * 3));
    const sample = find(owner.collect(now), NAME[kind]);
    if (sample !== undefined) written.push(sample);
    if (process.env.DEBUG) trace.push(`=> ${sample === undefined ? '-' : sample.stale ? 'stale' : `${total(sample)}@${sample.start! - T0}`}`);
    // An owner is checkpointed with the state of its collect.
    ownerCheckpoint = { state: viaJson(owner.toState()), position: consumed };
  };

  async function step(): Promise<void> {
    now += 1_000;
    const r = random();
    const s = pick(sources);
    if (r < 0.3) {
      push(s);
      trace.push(`push ${s.name} ${s.run!.id}=${s.run!.value}`);
    } else if (r < 0.42) {
      trace.push('delete');
      for (const x of sources) if (random() < 0.6) {
        x.pending++;
        catchUp(x);
      } else x.pending++;
    } else if (r < 0.47) {
      trace.push(`catch up ${s.name}`);
      catchUp(s);
    } else if (r < 0.7) {
      const how = random() < 0.8 ? 'ok' : random() < 0.5 ? 'lost-ack' : 'lost';
      trace.push(`publish ${s.name} ${how}`);
      await publish(s, how);
    } else if (r < 0.9) {
      trace.push('collect');
      collect();
    } else if (r < 0.95) {
      // Restored from its checkpoint, the source applies the records after it again; the relay that had it crashed, or
      // (a takeover) goes on publishing what it had for a while.
      const takeover = random() < 0.4;
      trace.push(`${takeover ? 'takeover' : 'crash'} ${s.name} (from ${s.checkpoint.offset} to ${s.records.length})`);
      s.ghost = takeover ? { state: s.state, offset: s.records.length } : null;
      s.state = SourceState.fromState(s.checkpoint.state, OPTS, 3_600_000);
      for (let o = s.checkpoint.offset; o < s.records.length; o++) s.state.apply(s.records[o]!, now);
    } else if (r < 0.97) {
      if (s.ghost === null) return;
      trace.push(`late writer ${s.name} publishes @${s.ghost.offset}`);
      const ghost = s.ghost;
      const samples = ghost.state.collect(now);
      await publisher.publish([{ source: s.name, offset: BigInt(ghost.offset), samples }]);
      if (random() < 0.5) s.ghost = null;
    } else {
      trace.push('owner crash');
      // Restored from its checkpoint, the owner consumes the topic again from the position it covers.
      owner = SeriesCombiner.fromState(ownerCheckpoint.state, OWNER);
      consumed = ownerCheckpoint.position;
    }
  }

  for (let i = 0; i < ops; i++) await step();
  // The end: every partition applies its DELETEs and a last one, publishes, and the owner writes until the marker.
  trace.push('end');
  for (const x of sources) {
    x.pending++;
    catchUp(x);
  }
  for (let i = 0; i < 3; i++) {
    now += 1_000;
    for (const x of sources) await publish(x, 'ok');
    consume(topic.length);
    collect();
  }
  return { expected, written, trace };
}

/** What the owner's samples count: each segment (one start) from zero to its last value. */
function counted(written: OutputSample[]): number {
  const last = new Map<number, number>();
  for (const s of written) if (!s.stale) last.set(s.start!, total(s));
  let n = 0;
  for (const v of last.values()) n += v;
  return n;
}

describe('whole-job deletes through the repartition stage, at random', () => {
  it.each([
    ['a counter', 'counter'],
    ['a native histogram', 'native'],
  ] as const)('%s: the owner counts exactly what the runs pushed, and the series ends', { timeout: 120_000 }, async (_, kind) => {
    for (let seed = Number(process.env.SEED0 ?? 1); seed <= Number(process.env.SEED1 ?? 300); seed++) {
      const { expected, written, trace } = await scenario(kind, seed, Number(process.env.OPS ?? 40));
      const why = `seed ${seed}: ${trace.join(', ')}; written ${JSON.stringify(written.map((s) => (s.stale ? 'stale' : [total(s), s.start! - T0])))}`;
      expect(counted(written), why).toBe(expected);
      if (expected > 0) expect(written.at(-1)?.stale, why).toBe(true);
      // Within a segment a counter never goes down.
      const seen = new Map<number, number>();
      for (const s of written) {
        if (s.stale) continue;
        expect(total(s), why).toBeGreaterThanOrEqual(seen.get(s.start!) ?? 0);
        seen.set(s.start!, total(s));
      }
    }
  });
});
