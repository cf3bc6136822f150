import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import kafkajs from 'kafkajs';
import { InfraError } from '../errors.js';
import { assertPortFree, freePort, LOOPBACK, logShowsPortClash } from '../process/ports.js';
import { forgetOnExit, removeOnExit, ServerProcess, sleep } from '../process/server-process.js';
import { ensureKafkaJars, KAFKA_VERSION } from './jars.js';
import { findJava } from './java.js';
import { createKafkaTopic, describe, type TopicOptions } from './topics.js';

const { Kafka, logLevel } = kafkajs;

export interface KafkaStartOptions {
  /** Broker (PLAINTEXT) port; default: a free loopback port. */
  port?: number;
  /** KRaft controller port; default: a free loopback port. */
  controllerPort?: number;
  /** JVM max heap; default '512m'. */
  heap?: string;
  /** Extra JVM options, e.g. ['-XX:+UseSerialGC']. */
  jvmOptions?: string[];
  /** Deadline for the broker to answer a metadata request; default 60 s. */
  startTimeoutMs?: number;
  /** Keep the data folder after stop() (default false: removed). */
  keepData?: boolean;
  /** Extra or overriding server.properties entries. */
  brokerConfig?: Record<string, string | number | boolean>;
  /** Jar cache root; default $PROM_RELAY_KAFKA_CACHE or <repo>/.cache/kafka. */
  cacheDir?: string;
  /** Progress lines (jar download, start); silent by default. */
  onProgress?: (line: string) => void;
}

export interface KafkaServer {
  /** Bootstrap addresses, e.g. ['127.0.0.1:40123']. */
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  /** The broker's log.dirs folder (inside a private temp folder). */
  readonly dataDir: string;
  /** The broker's stdout/stderr (log4j) file. */
  readonly logFile: string;
  readonly version: string;
  /** Creates a topic (partition count, compaction, config) and waits for its leaders. */
  createTopic(name: string, options?: TopicOptions): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 15 s) of the whole process group; removes data unless kept. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Simulates a crash: SIGKILL now, data kept; call restart() to bring it back. */
  kill(): Promise<void>;
  /** Stops if running, then starts again on the same ports with the same data; resolves when ready. */
  restart(): Promise<void>;
  readonly running: boolean;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;

/** Starts a single-node KRaft broker+controller on loopback and resolves once it answers metadata. */
export async function startKafka(options: KafkaStartOptions = {}): Promise<KafkaServer> {
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const heap = options.heap ?? '512m';
  if (!/^\d+[kmg]$/i.test(heap)) throw new InfraError('PROM_RELAY_INFRA_STATE', `heap must look like '512m', got ${JSON.stringify(heap)}`);
  const java = await findJava();
  const libs = await ensureKafkaJars({ cacheDir: options.cacheDir, onProgress: options.onProgress });

  const workDir = mkdtempSync(join(tmpdir(), 'prom-relay-kafka-'));
  const keepByDefault = options.keepData ?? false;
  if (!keepByDefault) removeOnExit(workDir);
  const dataDir = join(workDir, 'data');
  const logFile = join(workDir, 'broker.log');
  const propertiesFile = join(workDir, 'server.properties');
  const log4jFile = join(workDir, 'log4j2.properties');
  mkdirSync(dataDir);
  writeFileSync(log4jFile, LOG4J2_PROPERTIES);
  const jvmArgs = [
    `-Xmx${heap}`,
    '-Xms64m',
    '-XX:+ExitOnOutOfMemoryError',
    // A 512 MB heap on a shared 2-core machine: Serial GC starts faster and burns less CPU than G1's threads.
    '-XX:+UseSerialGC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.dir=${workDir}`,
    ...(options.jvmOptions ?? []),
    '-cp',
    join(libs, '*'),
  ];

  let port = 0;
  let controllerPort = 0;
  let process_: ServerProcess | undefined;
  let stopped = false;

  const pickPorts = async (): Promise<void> => {
    if (options.port !== undefined) await assertPortFree(options.port, 'Kafka broker');
    if (options.controllerPort !== undefined) await assertPortFree(options.controllerPort, 'Kafka controller');
    port = options.port ?? (await freePort());
    controllerPort = options.controllerPort ?? (await freePort());
    while (controllerPort === port) controllerPort = await freePort();
  };

  const writeProperties = (): void => {
    const props: Record<string, string | number | boolean> = {
      'process.roles': 'broker,controller',
      'node.id': 1,
      'controller.quorum.voters': `1@${LOOPBACK}:${controllerPort}`,
      listeners: `PLAINTEXT://${LOOPBACK}:${port},CONTROLLER://${LOOPBACK}:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://${LOOPBACK}:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': dataDir,
      'num.partitions': 1,
      'num.network.threads': 2,
      'num.io.threads': 4,
      // Single node: every internal topic has one replica; few partitions keep start-up light.
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 4,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 4,
      'share.coordinator.state.topic.replication.factor': 1,
      'share.coordinator.state.topic.min.isr': 1,
      'share.coordinator.state.topic.num.partitions': 1,
      // After a crash the restarted broker must outlive its old session before it can register again.
      'broker.session.timeout.ms': 3000,
      'broker.heartbeat.interval.ms': 500,
      // Tests join groups constantly: no 3 s wait for more members.
      'group.initial.rebalance.delay.ms': 0,
      ...options.brokerConfig,
    };
    writeFileSync(propertiesFile, `${Object.entries(props).map(([k, v]) => `${k}=${String(v)}`).join('\n')}\n`);
  };

  const launch = async (): Promise<void> => {
    const proc = ServerProcess.start({ command: java, args: [...jvmArgs, 'kafka.Kafka', propertiesFile], logFile, cwd: workDir, removeWhenOrphaned: keepByDefault ? undefined : workDir });
    process_ = proc;
    try {
      await waitForBroker(proc, `${LOOPBACK}:${port}`, startTimeoutMs);
    } catch (err) {
      await proc.stop(2_000);
      throw err;
    }
  };

  try {
    await pickPorts();
    writeProperties();
    await formatFromTemplate(dataDir, await storageTemplate(java, jvmArgs, libs, options.onProgress));
    options.onProgress?.(`starting Kafka ${KAFKA_VERSION} on ${LOOPBACK}:${port} (controller ${controllerPort})`);
    try {
      await launch();
    } catch (err) {
      const autoPorts = options.port === undefined && options.controllerPort === undefined;
      // Another process grabbed a port between our probe and the JVM's bind: pick new ones once.
      if (!(autoPorts && err instanceof InfraError && err.code === 'PROM_RELAY_INFRA_PORT_TAKEN')) throw err;
      await pickPorts();
      writeProperties();
      await launch();
    }
  } catch (err) {
    if (!keepByDefault) {
      rmSync(workDir, { recursive: true, force: true });
      forgetOnExit(workDir);
    }
    throw err;
  }

  const server: KafkaServer = {
    get brokers() {
      return [`${LOOPBACK}:${port}`];
    },
    get port() {
      return port;
    },
    get controllerPort() {
      return controllerPort;
    },
    dataDir,
    logFile,
    version: KAFKA_VERSION,
    get running() {
      return !stopped && (process_?.running ?? false);
    },
    async createTopic(name, topicOptions) {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', `createTopic(${name}): the broker was stopped`);
      await createKafkaTopic(server.brokers, name, topicOptions);
    },
    async stop(stopOptions) {
      if (stopped) return;
      stopped = true;
      await process_?.stop(15_000);
      if (!(stopOptions?.keepData ?? keepByDefault)) {
        rmSync(workDir, { recursive: true, force: true });
        forgetOnExit(workDir);
      }
    },
    async kill() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'kill(): the broker was stopped');
      await process_?.crash();
    },
    async restart() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'restart(): the broker was stopped (stop() is final; use kill() to simulate a crash)');
      await process_?.stop(15_000);
      await assertPortFree(port, 'Kafka broker restart');
      await assertPortFree(controllerPort, 'Kafka controller restart');
      await launch();
    },
  };
  return server;
}

/**
 * A folder formatted once per jar cache by `kafka-storage format`; its bootstrap.checkpoint (metadata.version and
 * feature levels) holds no cluster id, so copying it saves every start a ~2 s JVM run.
 */
async function storageTemplate(java: string, jvmArgs: string[], libs: string, onProgress?: (line: string) => void): Promise<string> {
  const template = join(dirname(libs), 'storage-template');
  if (existsSync(join(template, BOOTSTRAP_CHECKPOINT))) return template;
  onProgress?.(`formatting a KRaft storage template in ${template}`);
  const staging = mkdtempSync(join(dirname(libs), 'storage-template.partial-'));
  try {
    const logDir = join(staging, 'data');
    const props = join(staging, 'format.properties');
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${LOOPBACK}:9093`,
        `listeners=PLAINTEXT://${LOOPBACK}:9092,CONTROLLER://${LOOPBACK}:9093`,
        'controller.listener.names=CONTROLLER',
        `log.dirs=${logDir}`,
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve, reject) => {
      execFile(
        java,
        [...jvmArgs, 'kafka.tools.StorageTool', 'format', `--cluster-id=${randomKafkaUuid()}`, '-c', props],
        { cwd: staging, timeout: 120_000, maxBuffer: 8 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve();
          const tail = `${stdout}${stderr}`.trimEnd().split('\n').slice(-15).join('\n');
          reject(new InfraError('PROM_RELAY_INFRA_STORAGE_FORMAT', `kafka-storage format failed (${err.message.split('\n')[0]}):\n${tail}`, { cause: err }));
        },
      );
    });
    try {
      // Atomic: a concurrent start sees either no template or a complete one.
      renameSync(logDir, template);
    } catch (err) {
      // Another start renamed its template first: use it.
      if (!existsSync(join(template, BOOTSTRAP_CHECKPOINT))) throw err;
    }
    return template;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** What `kafka-storage format` writes: the template's bootstrap.checkpoint plus a fresh meta.properties. */
async function formatFromTemplate(dataDir: string, template: string): Promise<void> {
  copyFileSync(join(template, BOOTSTRAP_CHECKPOINT), join(dataDir, BOOTSTRAP_CHECKPOINT));
  writeFileSync(join(dataDir, 'meta.properties'), `node.id=1\ndirectory.id=${randomKafkaUuid()}\nversion=1\ncluster.id=${randomKafkaUuid()}\n`);
}

const BOOTSTRAP_CHECKPOINT = 'bootstrap.checkpoint';

/** A Kafka Uuid as its tools print it: 16 random bytes, URL-safe base64 without padding. */
function randomKafkaUuid(): string {
  return randomBytes(16).toString('base64url');
}

/** Readiness = the broker answers a metadata request (describeCluster), polled until the deadline. */
async function waitForBroker(proc: ServerProcess, broker: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'prom-relay-infra-readiness',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (!proc.running) {
      const log = proc.logTail(40);
      if (logShowsPortClash(log)) {
        throw new InfraError('PROM_RELAY_INFRA_PORT_TAKEN', `Kafka broker could not bind its port (${broker} or its controller port): address already in use. Log tail:\n${proc.logTail(8)}`);
      }
      throw new InfraError('PROM_RELAY_INFRA_START_FAILED', `Kafka broker exited during start-up (exit ${JSON.stringify(proc.exitStatus)}); log ${proc.logFile}:\n${log}`);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return;
      lastError = 'metadata listed no brokers yet';
    } catch (err) {
      lastError = describe(err);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(150);
  }
  throw new InfraError(
    'PROM_RELAY_INFRA_START_TIMEOUT',
    `Kafka broker at ${broker} did not answer a metadata request within ${timeoutMs} ms (last: ${lastError}); raise startTimeoutMs on a slow machine. Log ${proc.logFile}:\n${proc.logTail(20)}`,
  );
}

const LOG4J2_PROPERTIES = `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
# The config dumps and request logs are noise in tests.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
`;
