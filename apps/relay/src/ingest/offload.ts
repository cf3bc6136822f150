// One worker thread for the ingest's heavy work (worker.ts); requests are answered in the order they were handed over.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { IngestError } from './errors.js';
import type { IngestErrorCode } from './errors.js';
import type { IngestMessage } from './ingest.js';
import type { PreparedRemoteWrite, PushInput, RemoteWriteInput } from './prepare.js';

export type WorkerTask = { id: number; kind: 'push'; input: PushInput } | { id: number; kind: 'remote-write'; input: RemoteWriteInput };

export type WorkerReply =
  | { id: number; ok: true; push: { snappy: Uint8Array; contentType?: string; runId?: string } }
  | { id: number; ok: true; remoteWrite: PreparedRemoteWrite }
  | { id: number; ok: false; code: IngestErrorCode; message: string };

type Pending = { resolve: (reply: WorkerReply) => void; reject: (err: unknown) => void };

/** A Buffer again: structured clone hands Buffers over as plain Uint8Arrays. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function revive(message: IngestMessage): IngestMessage {
  return { key: message.key, value: asBuffer(message.value), headers: message.headers };
}

/**
 * Starts the worker: the compiled `worker.js` directly; from TypeScript sources (tests, `--import tsx`) through tsx's
 * loader, registered inside the worker (a worker does not inherit the parent's `--import` hooks).
 */
function startWorker(): Worker {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const entry = new URL('./worker.ts', import.meta.url).href;
  // require.resolve finds the package's CommonJS entry; its ES module twin sits beside it.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, execArgv: ['--conditions=@prom-relay/source'] });
}

export class IngestWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** `onBusy(true)` when the thread gets work with none in flight, `onBusy(false)` when its last task is answered. */
  constructor(private readonly onBusy?: (busy: boolean) => void) {}

  /**
   * Checks a push in the thread; resolves with its text (converted when it was protobuf) snappy-compressed, or its
   * protobuf body as it came when it carries native histograms (`contentType` then says so).
   */
  push(input: PushInput): Promise<{ snappy: Buffer; contentType?: string; runId?: string }> {
    return this.run({ id: 0, kind: 'push', input }).then((reply) => {
      const push = (reply as { push: { snappy: Uint8Array; contentType?: string; runId?: string } }).push;
      return { snappy: asBuffer(push.snappy), ...(push.contentType !== undefined ? { contentType: push.contentType } : {}), ...(push.runId !== undefined ? { runId: push.runId } : {}) };
    });
  }

  remoteWrite(input: RemoteWriteInput): Promise<PreparedRemoteWrite> {
    return this.run({ id: 0, kind: 'remote-write', input }).then((reply) => {
      const prepared = (reply as { remoteWrite: PreparedRemoteWrite }).remoteWrite;
      prepared.messages = prepared.messages.map(revive);
      return prepared;
    });
  }

  /** Ends the thread; tasks in flight fail with INTERNAL. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private run(task: WorkerTask): Promise<WorkerReply> {
    const worker = this.ensure();
    const id = ++this.nextId;
    return new Promise<WorkerReply>((resolve, reject) => {
      if (this.pending.size === 0) this.onBusy?.(true);
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...task, id });
    }).then((reply) => {
      if (!reply.ok) throw new IngestError(reply.code, reply.message);
      return reply;
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    // The thread never keeps the process alive: shutdown does not wait for it.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.onBusy?.(false);
      p.resolve(reply);
    });
    const fail = (err: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      const pending = [...this.pending.values()];
      this.pending.clear();
      if (pending.length > 0) this.onBusy?.(false);
      const error = new IngestError('PROM_RELAY_INGEST_INTERNAL', `the ingest worker thread stopped: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      for (const p of pending) p.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }
}
