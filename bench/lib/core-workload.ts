// The workloads of bench/relay-core.ts, as Kafka records with the headers a relay reads: its ingest rows' (also
// bench/diagnosis/ingest-cpu.mts), text exposition pushes of 100 samples as prom-client writes them from short-lived
// producers of 10 jobs; and its memory rows' (also bench/diagnosis/restore-cpu.mts), pushes of counter series, one
// producer each, of 50 jobs.
import type { KafkaRecord } from '../../apps/relay/src/decode/index.js';
import { BUCKETS } from './text-workload.js';

/** 100 samples as prom-client writes them: 45 counter series and 5 histograms of 11 buckets. */
export function body(round: number, seed: number): string {
  const lines = ['# HELP rows_written_total Rows written.', '# TYPE rows_written_total counter'];
  for (let t = 0; t < 45; t++) lines.push(`rows_written_total{table="table_${t}",status="ok"} ${(round + 1) * (t + seed)}`);
  lines.push('# HELP request_duration_seconds Request duration.', '# TYPE request_duration_seconds histogram');
  for (let op = 0; op < 5; op++) {
    let cumulative = 0;
    for (const le of BUCKETS.slice(0, 9)) {
      cumulative += round + op;
      lines.push(`request_duration_seconds_bucket{le="${le}",operation="op_${op}"} ${cumulative}`);
    }
    lines.push(`request_duration_seconds_bucket{le="+Inf",operation="op_${op}"} ${cumulative}`);
    lines.push(`request_duration_seconds_sum{operation="op_${op}"} ${cumulative * 0.3}`);
  }
  return lines.join('\n') + '\n';
}

/** `producers` short-lived producers (own id and instance) of 10 jobs, `messages` pushes each, interleaved. */
export function records(producers: number, messages: number): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  for (let m = 0; m < messages; m++) {
    for (let p = 0; p < producers; p++) {
      out.push({
        topic: 'prom-relay.metrics',
        partition: 0,
        offset: String(out.length),
        key: null,
        value: Buffer.from(body(m, p)),
        headers: {
          'content-type': Buffer.from('text/plain; version=0.0.4; charset=utf-8'),
          'prom-relay-job': Buffer.from(`export-job-${p % 10}`),
          'prom-relay-producer': Buffer.from(`3f1c9a52-7d4e-4c1b-9a8e-${String(p).padStart(12, '0')}`),
          'prom-relay-grouping': Buffer.from(`instance=worker-${p}.batch.svc`),
          'prom-relay-seq': Buffer.from(String(m)),
        },
      });
    }
  }
  return out;
}

/**
 * Push `i` of the memory rows' workload: `per` counter series of its own shard, one producer per push (`run` > 0: a
 * later run of the same jobs, new producers), at offset `offset`; `bump` raises every value.
 */
export function seriesPush(i: number, offset: number, run = 0, per = 100, bump = 0): KafkaRecord {
  const lines = ['# TYPE bytes_processed_total counter'];
  for (let s = 0; s < per; s++) lines.push(`bytes_processed_total{shard="shard-${i}",partition_key="key-${s}",status="ok"} ${i + s + bump}`);
  return {
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(lines.join('\n')),
    headers: {
      'content-type': 'text/plain; version=0.0.4',
      'prom-relay-job': `ingest-job-${i % 50}`,
      'prom-relay-producer': run === 0 ? `producer-${i}` : `producer-${i}-run-${run}`,
      'prom-relay-grouping': `instance=worker-${i}.batch.svc`,
    },
  };
}
