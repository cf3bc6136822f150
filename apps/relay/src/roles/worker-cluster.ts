// A role on every core: node:cluster workers share the listening port (the primary accepts and hands connections out
// round-robin), each one a whole relay of that role. A worker that dies is forked again (with backoff); one that cannot
// start fails the whole start. /metrics, the status page and (when the role asks) /readyz answer for all workers: the
// worker a request reaches asks the primary, which gathers every worker's metrics (prom-client's AggregatorRegistry
// sums them), status or readiness, merges, and answers. Used by `prom-relay ingest` (ingest-cluster.ts) and
// `prom-relay aggregate` (aggregate-cluster.ts).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { RateLimitedLog } from '../log/index.js';
import type { Readiness } from '../server/index.js';
import { mergeSnapshots, type StatusSnapshot } from '../status/index.js';

export type Kind = 'metrics' | 'status' | 'readiness';
const GATHER = 'prom-relay:gather';
const GATHERED = 'prom-relay:gathered';
const COLLECT = 'prom-relay:collect';
const COLLECTED = 'prom-relay:collected';
const STARTED = 'prom-relay:started';
const JOIN_READY = 'prom-relay:join-ready';
const JOIN = 'prom-relay:join';
/** A worker that waits longer than this for the others joins anyway (logged): a slow start must not stall the rest. */
const JOIN_WAIT_MS = 60_000;

interface Message {
  type: string;
  id: number;
  kind?: Kind;
  data?: unknown;
  error?: string;
}

/** How long the primary waits for the workers' answers; a worker that has not answered by then is left out (and named). */
const COLLECT_TIMEOUT_MS = 3000;

/** What differs between the roles that run on several workers. */
export interface ClusterRole {
  /** names the metrics (`prom_relay_<name>_workers`, `prom_relay_<name>_worker_restarts_total`), log lines and env */
  name: 'ingest' | 'aggregate';
  /** help texts of the two metrics */
  help: { workers: string; restarts: string };
  /** when a worker counts as started: its HTTP server listens (ingest), or its relay has started (aggregate: joined the group) */
  startedOn: 'listening' | 'started';
  /** /readyz answers for every worker (ready when all are), not only for the worker the request reached */
  sharedReadiness: boolean;
  /**
   * At the first start, every worker waits until all are set up before its consumer joins the group: they are
   * assigned their partitions together, instead of the first taking every partition and the others then taking some
   * over (a rebalance, a restore and a replay of what the first had consumed meanwhile). A worker forked again joins at once.
   */
  joinTogether?: boolean;
  /** merges the workers' status snapshots (default: mergeSnapshots, jobs merged) */
  mergeStatus?: (snapshots: StatusSnapshot[]) => StatusSnapshot;
}

export interface PrimaryOptions {
  role: ClusterRole;
  workers: number;
  logger: Logger;
  /** how long workers get to finish on SIGTERM/SIGINT */
  shutdownTimeoutMs: number;
  /** URL host the workers listen on (0.0.0.0 and :: are shown as 127.0.0.1) */
  host: string;
}

function isMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as Message).type === 'string' && typeof (m as Message).id === 'number';
}

const workerEnv = (role: ClusterRole) => `PROM_RELAY_${role.name.toUpperCase()}_WORKER`;

/** Several workers' readiness as one: ready when all `expected` answered ready; a check that differs is listed per worker. */
export function mergeReadiness(answers: Readiness[], expected: number): Readiness {
  const checks: Record<string, boolean | string> = {};
  for (const key of new Set(answers.flatMap((r) => Object.keys(r.checks)))) {
    const values = answers.map((r) => r.checks[key] ?? 'none');
    checks[key] = values.every((v) => v === values[0]) ? values[0]! : values.map((v, n) => `worker ${n + 1}: ${String(v)}`).join('; ');
  }
  checks.workers = `${answers.length} of ${expected} answering`;
  return { ready: answers.length === expected && answers.every((r) => r.ready), checks };
}

/**
 * The primary: forks the workers, logs `relay started` once every one started, forks a worker again when one dies
 * (counted in prom_relay_<role>_worker_restarts_total), answers the workers' gather requests, and on SIGTERM/SIGINT
 * stops them all. Resolves with the exit code.
 */
export function runPrimary(o: PrimaryOptions): Promise<number> {
  const { logger, role } = o;
  const slow = new RateLimitedLog(logger);
  const registry = new Registry();
  const restarts = new Counter({ name: `prom_relay_${role.name}_worker_restarts_total`, help: role.help.restarts, registers: [registry] });
  new Gauge({
    name: `prom_relay_${role.name}_workers`,
    help: role.help.workers,
    registers: [registry],
    collect() {
      this.set(Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected()).length);
    },
  });
  let collectId = 0;
  const pending = new Map<number, { answers: Map<number, unknown>; expected: Set<number>; done: () => void }>();
  let stopping = false;
  let started = false;
  let backoffMs = 1000;

  const collect = async (kind: Kind): Promise<{ answers: unknown[]; missing: number[] }> => {
    const id = collectId++;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    const answers = new Map<number, unknown>();
    const expected = new Set(workers.map((w) => w.id));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      pending.set(id, { answers, expected, done });
      for (const w of workers) w.send({ type: COLLECT, id, kind } satisfies Message);
      if (expected.size === 0) done();
    });
    pending.delete(id);
    const missing = [...expected].filter((w) => !answers.has(w));
    if (missing.length > 0) slow.warn(`collect:${kind}`, { kind, missing }, `${role.name} workers did not answer in time: left out of this answer`);
    return { answers: [...answers.values()], missing };
  };

  const gather = async (kind: Kind): Promise<unknown> => {
    const { answers } = await collect(kind);
    if (kind === 'metrics') {
      const all = [...(answers as MetricObjectWithValues<MetricValue<string>>[][]), await registry.getMetricsAsJSON()];
      return AggregatorRegistry.aggregate(all).metrics();
    }
    if (kind === 'readiness') return mergeReadiness(answers as Readiness[], o.workers);
    return (role.mergeStatus ?? mergeSnapshots)(answers as StatusSnapshot[]);
  };

  return new Promise<number>((resolve) => {
    /** per worker index, its URL once started */
    const ready = new Map<number, string>();
    /** workers set up and waiting to join their group (first start only) */
    const waiting = new Map<number, Worker>();
    let joined = false;
    /** forked and not exited (cluster.workers may still list an exited worker until its IPC channel closes) */
    const alive = new Map<number, Worker>();
    let exitCode = 0;
    const shownHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
    const workerStarted = (index: number, url: string) => {
      ready.set(index, url);
      if (!started && ready.size === o.workers) {
        started = true;
        logger.info({ role: role.name, workers: o.workers, url: ready.get(0) ?? [...ready.values()][0], pid: process.pid }, 'relay started');
      }
    };
    const fork = (index: number) => {
      const w = cluster.fork({ [workerEnv(role)]: String(index) });
      alive.set(index, w);
      const forkedAt = Date.now();
      w.on('message', (m: unknown) => {
        if (!isMessage(m)) return;
        if (m.type === COLLECTED) {
          const p = pending.get(m.id);
          if (!p) return;
          if (m.error === undefined) p.answers.set(w.id, m.data);
          else p.expected.delete(w.id);
          if ([...p.expected].every((id) => p.answers.has(id))) p.done();
        } else if (m.type === GATHER && m.kind) {
          gather(m.kind).then(
            (data) => w.isConnected() && w.send({ type: GATHERED, id: m.id, data } satisfies Message),
            (err: unknown) => w.isConnected() && w.send({ type: GATHERED, id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies Message),
          );
        } else if (m.type === JOIN_READY) {
          waiting.set(index, w);
          if (!joined && waiting.size < o.workers) return;
          joined = true;
          for (const ww of waiting.values()) if (ww.isConnected()) ww.send({ type: JOIN, id: 0 } satisfies Message);
          waiting.clear();
        } else if (m.type === STARTED && role.startedOn === 'started') {
          workerStarted(index, String(m.data));
        }
      });
      w.on('listening', (address) => {
        if (role.startedOn === 'listening') workerStarted(index, `http://${shownHost}:${address.port}`);
      });
      w.on('exit', (code, signal) => {
        alive.delete(index);
        for (const p of pending.values()) if (p.expected.delete(w.id) && [...p.expected].every((id) => p.answers.has(id))) p.done();
        if (stopping) {
          if (code !== 0) exitCode = 1;
          if (alive.size === 0) resolve(exitCode);
          return;
        }
        if (!started) {
          // A worker that cannot start (Kafka unreachable, port taken) fails the whole start, as one process would.
          logger.fatal({ worker: index, code, signal }, `an ${role.name} worker could not start; stopping`);
          stopping = true;
          exitCode = 1;
          for (const other of alive.values()) other.process.kill('SIGTERM');
          if (alive.size === 0) resolve(1);
          return;
        }
        if (Date.now() - forkedAt > 60_000) backoffMs = 1000;
        logger.error({ worker: index, code, signal, restartInMs: backoffMs }, `${role.name} worker exited; forking it again`);
        restarts.inc();
        setTimeout(() => !stopping && fork(index), backoffMs).unref();
        backoffMs = Math.min(backoffMs * 2, 30_000);
      });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: alive.size, deadlineMs: o.shutdownTimeoutMs }, 'shutting down');
      for (const w of alive.values()) w.process.kill('SIGTERM');
      if (alive.size === 0) resolve(exitCode);
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: o.shutdownTimeoutMs }, `shutdown deadline passed; killing the ${role.name} workers`);
        for (const w of alive.values()) w.process.kill('SIGKILL');
        resolve(1);
      }, o.shutdownTimeoutMs + 1000);
      deadline.unref();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    for (let i = 0; i < o.workers; i++) fork(i);
  });
}

/** What a worker's relay offers the primary. */
export interface WorkerRelay {
  readonly url: string;
  metrics: { registry: Registry };
  snapshot(): StatusSnapshot;
  readiness?(): Readiness;
}

/** What a worker's relay is started with: its number, and how it answers for every worker. */
export interface WorkerStartOptions {
  worker: number;
  metricsText: () => Promise<string>;
  statusSnapshot: () => Promise<StatusSnapshot>;
  /** only when the role shares readiness */
  readiness?: () => Promise<Readiness>;
  /** only when the role joins together: resolves once every worker is set up (or after JOIN_WAIT_MS) */
  beforeJoin?: () => Promise<void>;
}

/** The worker's side of joining together: tells the primary it is set up, resolves when the primary says join. */
function joinWhenAllReady(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, JOIN_WAIT_MS);
    function done() {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve();
    }
    function onMessage(m: unknown) {
      if (isMessage(m) && m.type === JOIN) done();
    }
    process.on('message', onMessage);
    process.send?.({ type: JOIN_READY, id: 0 } satisfies Message);
  });
}

/**
 * Starts a worker: its /metrics and status page (and /readyz, when the role shares it) answer for every worker (through
 * the primary), it answers the primary's collect requests with its own, tells the primary once it started, and stops
 * when its primary is gone (the IPC channel closes).
 */
export async function startWorker<R extends WorkerRelay>(role: ClusterRole, start: (opts: WorkerStartOptions) => Promise<R>): Promise<R> {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  let relay: R | undefined;
  answerCollects({
    metrics: async () => {
      if (!relay) throw new Error('still starting');
      return relay.metrics.registry.getMetricsAsJSON();
    },
    status: () => {
      if (!relay) throw new Error('still starting');
      return relay.snapshot();
    },
    readiness: () => {
      if (!relay?.readiness) throw new Error('still starting');
      return relay.readiness();
    },
  });
  relay = await start({
    worker: Number(process.env[workerEnv(role)] ?? 0),
    metricsText: () => gatherFromPrimary('metrics'),
    statusSnapshot: () => gatherFromPrimary('status'),
    ...(role.sharedReadiness ? { readiness: () => gatherFromPrimary('readiness') } : {}),
    ...(role.joinTogether ? { beforeJoin: joinWhenAllReady } : {}),
  });
  process.send?.({ type: STARTED, id: 0, data: relay.url } satisfies Message);
  return relay;
}

/** The worker's side: answers the primary's collect requests with this worker's metrics, status or readiness. */
function answerCollects(local: { metrics(): Promise<unknown>; status(): unknown; readiness(): unknown }): void {
  process.on('message', (m: unknown) => {
    if (!isMessage(m) || m.type !== COLLECT || !process.send) return;
    const send = process.send.bind(process);
    Promise.resolve()
      .then(() => (m.kind === 'metrics' ? local.metrics() : m.kind === 'readiness' ? local.readiness() : local.status()))
      .then(
        (data) => send({ type: COLLECTED, id: m.id, data } satisfies Message),
        (err: unknown) => send({ type: COLLECTED, id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies Message),
      );
  });
}

let gatherId = 0;
const gathers = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let listening = false;

/** The worker's side: asks the primary for every worker's metrics (text), status (merged snapshot) or readiness. */
export function gatherFromPrimary(kind: 'metrics'): Promise<string>;
export function gatherFromPrimary(kind: 'status'): Promise<StatusSnapshot>;
export function gatherFromPrimary(kind: 'readiness'): Promise<Readiness>;
export function gatherFromPrimary(kind: Kind): Promise<unknown> {
  if (!process.send) return Promise.reject(new Error('not a cluster worker'));
  if (!listening) {
    listening = true;
    process.on('message', (m: unknown) => {
      if (!isMessage(m) || m.type !== GATHERED) return;
      const g = gathers.get(m.id);
      if (!g) return;
      gathers.delete(m.id);
      if (m.error !== undefined) g.reject(new Error(m.error));
      else g.resolve(m.data);
    });
  }
  const id = gatherId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      gathers.delete(id);
      reject(new Error(`the primary did not answer within ${COLLECT_TIMEOUT_MS * 2} ms`));
    }, COLLECT_TIMEOUT_MS * 2);
    gathers.set(id, {
      resolve: (v) => (clearTimeout(timer), resolve(v)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    process.send!({ type: GATHER, id, kind } satisfies Message);
  });
}
