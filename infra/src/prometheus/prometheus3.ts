import { ensureGoBinary, GO_BINARIES, type GoBuildOptions } from '../go/go-binaries.js';
import { InfraError } from '../errors.js';
import { startPrometheus, type PrometheusServer, type PrometheusStartOptions } from './prometheus.js';

/** Remote Write messages a Prometheus 3 receiver can accept. */
export const REMOTE_WRITE_MESSAGES = {
  v1: 'prometheus.WriteRequest',
  v2: 'io.prometheus.write.v2.Request',
} as const;

export interface Prometheus3StartOptions extends Omit<PrometheusStartOptions, 'binary'> {
  /**
   * Protobuf messages the remote write receiver accepts (default both). With only `['v1']` it answers 415 to a
   * 2.0 body, like a 1.0-only receiver that checks the content type.
   */
  acceptedMessages?: ('v1' | 'v2')[];
  /**
   * `--enable-feature` values, e.g. `metadata-wal-records` (RW 2.0 metadata is stored), `type-and-unit-labels`
   * (metadata shows as `__type__`/`__unit__` labels), `created-timestamp-zero-ingestion` (a start timestamp
   * becomes a zero sample), `native-histograms` (a no-op on 3.x: remote-written native histograms are always stored).
   */
  features?: string[];
  /** Where the binary is built and cached (see ensureGoBinary). */
  build?: GoBuildOptions;
}

/**
 * Starts Prometheus 3.16 (built once from the Go module proxy: `go install -tags remove_all_sd
 * github.com/prometheus/prometheus/cmd/prometheus@v0.316.0` into the go-bin cache) with the remote write receiver
 * accepting RW 1.0 and 2.0 (the accepted-messages flag once per message). Same server API as startPrometheus.
 */
export async function startPrometheus3(options: Prometheus3StartOptions = {}): Promise<PrometheusServer> {
  const { acceptedMessages = ['v1', 'v2'], features = [], build, extraArgs = [], ...rest } = options;
  if (acceptedMessages.length === 0 || acceptedMessages.some((m) => !(m in REMOTE_WRITE_MESSAGES))) {
    throw new InfraError('PROM_RELAY_INFRA_STATE', `acceptedMessages must list 'v1' and/or 'v2', got ${JSON.stringify(acceptedMessages)}`);
  }
  const binary = await ensureGoBinary(GO_BINARIES.prometheus3, build);
  return startPrometheus({
    ...rest,
    binary,
    extraArgs: [
      ...acceptedMessages.map((m) => `--web.remote-write-receiver.accepted-protobuf-messages=${REMOTE_WRITE_MESSAGES[m]}`),
      ...features.map((f) => `--enable-feature=${f}`),
      ...extraArgs,
    ],
  });
}
