// `prom-relay run|ingest|aggregate --config relay.yaml` and `prom-relay check-config --config relay.yaml`.
import cluster from 'node:cluster';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { formatConfig, loadConfig, type RelayConfig } from './config/index.js';
import { ConfigError } from './errors.js';
import { fatalFields } from './log/index.js';
import type { RelayRole } from './status/index.js';
import { versionLine } from './version.js';

const USAGE = `usage:
  prom-relay run [--config relay.yaml]           run the relay: HTTP ingest and aggregator in one process
  prom-relay ingest [--config relay.yaml]        only the HTTP ingest (stateless; ingest.workers processes, default 1)
  prom-relay aggregate [--config relay.yaml] [--processes N]
                                                 only the aggregator: consume, aggregate, flush, checkpoint
                                                 (N processes in the consumer group; default aggregation.processes, 1)
  prom-relay check-config [--config relay.yaml]  print the effective config (secrets masked) or every error
  prom-relay end-job [--config relay.yaml] <job>  end a job's totals now (as DELETE /metrics/job/<job>: every partition)
  prom-relay version                             print the version (also --version, -v)

Every key can be overridden by an env variable: PROM_RELAY_<SECTION>__<KEY>, e.g. PROM_RELAY_REMOTE_WRITE__URL.
`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function load(file: string | undefined, io: CliIo): RelayConfig | undefined {
  try {
    return loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

export function createLogger(config: RelayConfig): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'prom-relay' },
    // Belt and braces: secrets never reach a log line even if an object carrying one is logged.
    redact: {
      paths: [
        'password', '*.password', '*.*.password', 'bearer_token', '*.bearer_token', '*.*.bearer_token',
        'headers.authorization', '*.headers.authorization', '*.*.headers.authorization',
        'credentials[*].password', '*.credentials[*].password', '*.*.credentials[*].password',
        'bearer_tokens', '*.bearer_tokens', '*.*.bearer_tokens',
      ],
      censor: '<masked>',
    },
  });
}

async function run(config: RelayConfig, role: RelayRole): Promise<number> {
  const logger = createLogger(config);
  // Loaded on demand: check-config needs neither Kafka nor the pipeline.
  const { startRelayRole } = await import('./pipeline.js');
  if (role === 'ingest' && config.ingest.workers > 1) {
    const { runIngestPrimary, startIngestWorker } = await import('./roles/ingest-cluster.js');
    if (cluster.isPrimary) {
      return runIngestPrimary({ workers: config.ingest.workers, logger, shutdownTimeoutMs: config.shutdown.timeout, host: config.server.host });
    }
    return lifecycle(startIngestWorker((opts) => startRelayRole(config, logger, 'ingest', opts)), config, logger);
  }
  if (role === 'aggregate' && config.aggregation.processes > 1) {
    const { runAggregatePrimary, startAggregateWorker } = await import('./roles/aggregate-cluster.js');
    if (cluster.isPrimary) {
      return runAggregatePrimary({ processes: config.aggregation.processes, logger, shutdownTimeoutMs: config.shutdown.timeout, host: config.server.host });
    }
    return lifecycle(startAggregateWorker((opts) => startRelayRole(config, logger, 'aggregate', opts)), config, logger);
  }
  return lifecycle(startRelayRole(config, logger, role), config, logger);
}

type Started = Awaited<ReturnType<typeof import('./pipeline.js').startRelayRole>>;

/** Runs a started relay until SIGTERM/SIGINT (orderly stop, bounded by shutdown.timeout) or until it cannot go on. */
async function lifecycle(starting: Promise<Started>, config: RelayConfig, logger: Logger): Promise<number> {
  let relay: Started;
  try {
    relay = await starting;
  } catch (err) {
    // One JSON line naming the brokers, never a stack dump on stderr: the orchestrator restarts us.
    logger.fatal({ ...fatalFields(err), brokers: config.kafka.brokers }, `relay cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info({ signal, deadlineMs: config.shutdown.timeout }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: config.shutdown.timeout }, 'shutdown deadline passed; exiting');
        resolve(1);
      }, config.shutdown.timeout);
      deadline.unref();
      relay.stop().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          clearTimeout(deadline);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void relay.failed.then((err) => {
      if (signalled) return;
      signalled = true;
      logger.fatal({ ...fatalFields(err), brokers: config.kafka.brokers }, `relay cannot go on; stopping: ${err.message}`);
      const deadline = setTimeout(() => resolve(1), config.shutdown.timeout);
      deadline.unref();
      relay.stop().finally(() => {
        clearTimeout(deadline);
        resolve(1);
      });
    });
  });
}

/** Runs a command; answers the exit code. */
export async function main(argv: string[], io: CliIo = stdio): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, processes: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command] = parsed.positionals;
  if ((parsed.values.version && !parsed.values.help) || command === 'version') {
    io.out(versionLine());
    return 0;
  }
  if (parsed.values.help || command === undefined || command === 'help') {
    (command === undefined && !parsed.values.help ? io.err : io.out)(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  const file = parsed.values.config ?? process.env.PROM_RELAY_CONFIG;
  switch (command) {
    case 'check-config': {
      const config = load(file, io);
      if (!config) return 1;
      io.out(formatConfig(config));
      return 0;
    }
    case 'run':
    case 'ingest':
    case 'aggregate': {
      const config = load(file, io);
      if (!config) return 1;
      if (parsed.values.processes !== undefined) {
        const n = Number(parsed.values.processes);
        if (command !== 'aggregate' || !Number.isInteger(n) || n < 1 || n > 1024) {
          io.err(`--processes: ${command === 'aggregate' ? `expected an integer from 1 to 1024; got ${JSON.stringify(parsed.values.processes)}` : 'only prom-relay aggregate takes it'}\n${USAGE}`);
          return 2;
        }
        config.aggregation.processes = n;
      }
      return run(config, command);
    }
    case 'end-job': {
      const job = parsed.positionals[1];
      if (job === undefined || parsed.positionals.length !== 2) {
        io.err(`end-job takes one job name\n${USAGE}`);
        return 2;
      }
      const config = load(file, io);
      if (!config) return 1;
      const { endJob } = await import('./end-job.js');
      try {
        const { partitions } = await endJob(config, job, createLogger(config));
        io.out(`job ${job} ended: delete produced to ${Object.entries(partitions).map(([t, n]) => `${n} partitions of ${t}`).join(', ')}\n`);
        return 0;
      } catch (err) {
        io.err(`end-job ${job} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        return 1;
      }
    }
    default:
      io.err(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`prom-relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
