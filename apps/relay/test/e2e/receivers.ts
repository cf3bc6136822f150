// The three real Remote Write receivers the relay is checked against, behind one shape: query like Prometheus, and
// count what the receiver itself says it stored (to prove no batch was stored twice, or lost on a protocol fallback).
import { startPrometheus, startPrometheus3, startVictoriaMetrics } from '@prom-relay/infra';
import type { PromLike } from './harness.js';

export interface TestReceiver extends PromLike {
  readonly name: string;
  readonly remoteWriteUrl: string;
  /** True when it takes Remote Write 2.0 bodies (else it reads one as an empty 1.0 request and answers 204). */
  readonly speaks2: boolean;
  /** Samples the receiver reports having stored, from its own /metrics. */
  stored(): Promise<number>;
  stop(): Promise<void>;
}

export type ReceiverName = 'Prometheus 2.42' | 'Prometheus 3' | 'VictoriaMetrics';

export const RECEIVERS: ReceiverName[] = ['Prometheus 2.42', 'Prometheus 3', 'VictoriaMetrics'];

export async function startReceiver(name: ReceiverName): Promise<TestReceiver> {
  if (name === 'VictoriaMetrics') {
    const vm = await startVictoriaMetrics();
    return {
      name,
      remoteWriteUrl: vm.remoteWriteUrl,
      speaks2: false,
      query: (q) => vm.query(q),
      querySeries: (q) => vm.querySeries(q),
      stored: () => metricSum(vm.url, 'vm_rows_inserted_total', 'type="promremotewrite"'),
      stop: () => vm.stop(),
    };
  }
  const prom = name === 'Prometheus 3' ? await startPrometheus3() : await startPrometheus();
  return {
    name,
    remoteWriteUrl: prom.remoteWriteUrl,
    speaks2: name === 'Prometheus 3',
    query: (q) => prom.query(q),
    querySeries: (q) => prom.querySeries(q),
    // It scrapes nothing: every appended sample came through Remote Write.
    stored: () => metricSum(prom.url, 'prometheus_tsdb_head_samples_appended_total'),
    stop: () => prom.stop(),
  };
}

/** The sum of every series of `name` (optionally only those whose labels contain `labelFilter`) on `${url}/metrics`. */
export async function metricSum(url: string, name: string, labelFilter?: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
