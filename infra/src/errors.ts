/**
 * The infra error catalogue. Same shape as the codec's PromRelayError (code, cause, enumerable
 * fields) but kept local: infra must start for every package's tests even when codec is mid-change.
 */
export const INFRA_ERROR_CODES = [
  /** No `java` on PATH (or in $JAVA_HOME/bin): install a JRE 17+. */
  'PROM_RELAY_INFRA_JAVA_MISSING',
  /** No `mvn` on PATH while the Kafka jars are not cached yet. */
  'PROM_RELAY_INFRA_MAVEN_MISSING',
  /** Maven could not resolve the Kafka jars (usually no network to Maven Central). */
  'PROM_RELAY_INFRA_JARS_UNAVAILABLE',
  /** A server binary (prometheus, prometheus-pushgateway) is not installed. */
  'PROM_RELAY_INFRA_BINARY_MISSING',
  /** The requested loopback port is already in use. */
  'PROM_RELAY_INFRA_PORT_TAKEN',
  /** The server did not answer its readiness probe before the deadline. */
  'PROM_RELAY_INFRA_START_TIMEOUT',
  /** The server process exited during start-up. */
  'PROM_RELAY_INFRA_START_FAILED',
  /** `kafka-storage format` failed. */
  'PROM_RELAY_INFRA_STORAGE_FORMAT',
  /** A topic could not be created or did not get leaders in time. */
  'PROM_RELAY_INFRA_TOPIC',
  /** A Prometheus query failed or did not return the expected result type. */
  'PROM_RELAY_INFRA_QUERY',
  /** The server was used after stop(), or an option is invalid. */
  'PROM_RELAY_INFRA_STATE',
  /** `testKafkaBrokers()` was called without the root vitest globalSetup. */
  'PROM_RELAY_INFRA_NO_TEST_BROKER',
  /** No Go toolchain (`go`) to build Prometheus 3 or VictoriaMetrics from the Go module proxy. */
  'PROM_RELAY_INFRA_GO_MISSING',
  /** `go install` of a server failed (no network to the module proxy, Go too old...), or waiting for another build timed out. */
  'PROM_RELAY_INFRA_GO_BUILD',
] as const;

export type InfraErrorCode = (typeof INFRA_ERROR_CODES)[number];

export class InfraError extends Error {
  declare readonly code: InfraErrorCode;
  declare readonly cause: unknown;

  constructor(code: InfraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    // Own enumerable fields so structured loggers print them.
    Object.defineProperty(this, 'name', { value: 'InfraError', enumerable: true, writable: true, configurable: true });
    Object.defineProperty(this, 'code', { value: code, enumerable: true, writable: false, configurable: true });
    Object.defineProperty(this, 'message', { value: message, enumerable: true, writable: true, configurable: true });
    if (options && 'cause' in options) {
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: true, writable: false, configurable: true });
    }
  }
}
