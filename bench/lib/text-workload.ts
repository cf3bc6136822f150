// The text workload the Kafka-path benches share (relay.ts, relay-scale.ts, peers-kafka.ts): one push of 100 samples in
// text exposition, and a backlog of short-lived producers' pushes with the exact total of its counters.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import type kafkajs from 'kafkajs';

export const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

/** 100 samples in text exposition: 61 cumulative counters and 3 histograms (11 buckets, sum, count). */
export function textPushBody(push: number, seed: number): string {
  const lines = ['# TYPE bench_rows_total counter'];
  for (let t = 0; t < 61; t++) lines.push(`bench_rows_total{table="t${t}",status="ok"} ${(push + 1) * ((t % 7) + seed)}`);
  lines.push('# TYPE bench_latency_seconds histogram');
  for (let op = 0; op < 3; op++) {
    let cum = 0;
    for (let b = 0; b < BUCKETS.length; b++) {
      cum += (push + 1) * (b + 1);
      lines.push(`bench_latency_seconds_bucket{op="op${op}",le="${BUCKETS[b]}"} ${cum}`);
    }
    lines.push(`bench_latency_seconds_sum{op="op${op}"} ${(push + 1) * 1.5}`, `bench_latency_seconds_count{op="op${op}"} ${cum}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `producers` producers, each a UUID (a job run), `pushes` pushes each, interleaved with the others' as they would
 * arrive, keyed as the emitter keys them; `expected` is the exact `sum(bench_rows_total)` after all of them.
 */
export function textWorkload(producers: number, pushes: number): { messages: kafkajs.Message[]; expected: number } {
  const ps = Array.from({ length: producers }, (_, p) => ({ id: randomUUID(), job: `bench-${p % 40}`, instance: `i-${p}`, seed: 1 + (p % 13) }));
  const messages: kafkajs.Message[] = [];
  for (let push = 0; push < pushes; push++) {
    for (const p of ps) {
      messages.push(buildMessage({ contentType: CONTENT_TYPE.text, job: p.job, grouping: { instance: p.instance }, producerId: p.id, sequence: push }, Buffer.from(textPushBody(push, p.seed))));
    }
  }
  let expected = 0;
  for (const p of ps) for (let t = 0; t < 61; t++) expected += pushes * ((t % 7) + p.seed);
  return { messages, expected };
}

export const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
/** The median: the middle value, or the mean of the two middle ones of an even count (2 rounds: their mean, not the larger). */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
