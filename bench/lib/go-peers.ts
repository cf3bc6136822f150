// The Go peers the bench compares the relay with, built once per machine by infra's go-bin cache
// (`go install <package>@<version>` into ${XDG_CACHE_HOME:-~/.cache}/prom-relay/go-bin, under a lock).
// Run alone to build them ahead: node --conditions=@prom-relay/source --import tsx bench/lib/go-peers.ts
import { ensureGoBinary, goBuildRecord, type GoBinarySpec } from '@prom-relay/infra';

export const PEERS = {
  /** vmagent: Prometheus text import (`/api/v1/import/prometheus`) with stream aggregation, Remote Write out. */
  vmagent: {
    name: 'vmagent',
    package: 'github.com/VictoriaMetrics/VictoriaMetrics/app/vmagent',
    version: 'v1.151.0',
    binary: 'vmagent',
  },
  /** Telegraf with only the plugins the Kafka path needs (a full build is several times larger and slower). */
  telegraf: {
    name: 'telegraf',
    package: 'github.com/influxdata/telegraf/cmd/telegraf',
    version: 'v1.37.2',
    tags: ['custom', 'inputs.kafka_consumer', 'outputs.http', 'serializers.prometheusremotewrite', 'parsers.prometheus'],
    binary: 'telegraf',
  },
} as const satisfies Record<string, GoBinarySpec>;

export type PeerName = keyof typeof PEERS;

/** The peer's binary, built first when not cached; progress goes to stderr. */
export function peerBinary(name: PeerName): Promise<string> {
  return ensureGoBinary(PEERS[name], { onProgress: (line) => process.stderr.write(`${line}\n`), timeoutMs: 60 * 60_000 });
}

/** "vmagent v1.151.0 (go1.26.8)" for the tables. */
export function peerLabel(name: PeerName): string {
  const spec = PEERS[name];
  const record = goBuildRecord(spec);
  return `${spec.name} ${spec.version}${record ? ` (${record.goVersion})` : ''}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of Object.keys(PEERS) as PeerName[]) process.stdout.write(`${name}: ${await peerBinary(name)}\n`);
}
