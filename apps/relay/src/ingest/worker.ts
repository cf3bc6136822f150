// The ingest's worker thread: big pushes and every Remote Write request are decoded and checked here, so one request
// never holds the event loop that answers /healthz, /metrics and the other clients (see the ingest README).
import { parentPort } from 'node:worker_threads';
import { IngestError } from './errors.js';
import { compressedPush, prepareRemoteWrite } from './prepare.js';
import type { PushInput, RemoteWriteInput } from './prepare.js';
import { MetadataCache } from './remote-write.js';
import type { WorkerReply, WorkerTask } from './offload.js';

// Remote Write metadata arrives in requests of its own: the one worker remembers it for every later request.
const metadata = new MetadataCache();

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function run(task: WorkerTask): WorkerReply {
  try {
    if (task.kind === 'push') {
      const input: PushInput = { ...task.input, body: asBuffer(task.input.body) };
      return { id: task.id, ok: true, push: compressedPush(input) };
    }
    const input: RemoteWriteInput = task.input;
    return { id: task.id, ok: true, remoteWrite: prepareRemoteWrite(input, metadata) };
  } catch (err) {
    if (err instanceof IngestError) return { id: task.id, ok: false, code: err.code, message: err.message };
    return { id: task.id, ok: false, code: 'PROM_RELAY_INGEST_INTERNAL', message: `request failed: ${(err as Error)?.message ?? String(err)}` };
  }
}

parentPort!.on('message', (task: WorkerTask) => parentPort!.postMessage(run(task)));
