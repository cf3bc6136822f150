#!/usr/bin/env node
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfraError } from './errors.js';
import { startKafka, type KafkaServer } from './kafka/broker.js';
import { REPO_ROOT } from './paths.js';
import { startPrometheus, type PrometheusServer } from './prometheus/prometheus.js';
import { startPushgateway, type PushgatewayServer } from './pushgateway/pushgateway.js';

const USAGE = `npm run stack [-- options]
Starts Kafka (KRaft), Prometheus (remote write receiver) and Pushgateway on loopback; Ctrl-C stops them.
  --kafka-port N        broker port (default: a free one)
  --prometheus-port N   Prometheus port (default: a free one)
  --pushgateway-port N  Pushgateway port (default: a free one)
  --scrape-interval D   Prometheus scrape interval (default 5s)
Writes the addresses to .stack/stack.json and .stack/env (shell exports) while running.`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InfraError('PROM_RELAY_INFRA_STATE', `${flag} must be a TCP port (1-65535), got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'kafka-port': { type: 'string' },
      'prometheus-port': { type: 'string' },
      'pushgateway-port': { type: 'string' },
      'scrape-interval': { type: 'string', default: '5s' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (line: string): void => {
    process.stderr.write(`[stack] ${line}\n`);
  };
  log('starting Kafka, Prometheus and Pushgateway…');
  const started = Date.now();
  const results = await Promise.allSettled([
    startKafka({ port: port(values['kafka-port'], '--kafka-port'), onProgress: log }),
    startPrometheus({ port: port(values['prometheus-port'], '--prometheus-port'), scrapeInterval: values['scrape-interval'] }),
    startPushgateway({ port: port(values['pushgateway-port'], '--pushgateway-port') }),
  ]);
  const up = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    for (const err of failures) log(`ERROR ${err instanceof InfraError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}`);
    await Promise.all(up.map((server) => server.stop()));
    return 1;
  }
  const [kafka, prometheus, pushgateway] = up as [KafkaServer, PrometheusServer, PushgatewayServer];

  const stackDir = join(REPO_ROOT, '.stack');
  mkdirSync(stackDir, { recursive: true });
  const addresses = {
    kafkaBrokers: kafka.brokers,
    prometheusUrl: prometheus.url,
    remoteWriteUrl: prometheus.remoteWriteUrl,
    pushgatewayUrl: pushgateway.url,
    pid: process.pid,
  };
  // The address files describe a running stack only: gone on every exit path.
  process.once('exit', () => {
    rmSync(join(stackDir, 'stack.json'), { force: true });
    rmSync(join(stackDir, 'env'), { force: true });
  });
  writeFileSync(join(stackDir, 'stack.json'), `${JSON.stringify(addresses, null, 2)}\n`);
  writeFileSync(
    join(stackDir, 'env'),
    `export KAFKA_BROKERS=${kafka.brokers.join(',')}\nexport PROMETHEUS_URL=${prometheus.url}\nexport REMOTE_WRITE_URL=${prometheus.remoteWriteUrl}\nexport PUSHGATEWAY_URL=${pushgateway.url}\n`,
  );

  process.stdout.write(
    [
      `prom-relay stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (Ctrl-C to stop)`,
      `  Kafka ${kafka.version}   ${kafka.brokers.join(',')}`,
      `  Prometheus    ${prometheus.url}   remote write: ${prometheus.remoteWriteUrl}`,
      `  Pushgateway   ${pushgateway.url}`,
      `  addresses in  .stack/stack.json, shell exports in .stack/env (source it)`,
      '',
    ].join('\n'),
  );

  // Server children are unref'd and signal listeners keep nothing alive: hold the loop open until a signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      clearInterval(keepAlive);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGHUP', onSignal);
      // A second Ctrl-C exits at once; the exit hook still kills every server group.
      process.once('SIGINT', () => process.exit(130));
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });
  log('stopping…');
  await Promise.all([kafka.stop(), prometheus.stop(), pushgateway.stop()]);
  log('stopped, data removed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[stack] ERROR ${err instanceof InfraError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
