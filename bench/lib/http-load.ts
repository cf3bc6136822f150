// An HTTP/1.1 load generator in a worker thread (so it never shares the server's event loop): N keep-alive
// connections, each writing one prebuilt request at a time on a raw socket and reading the answer (like wrk; node:http's
// client costs more CPU per request than the servers measured here and would measure itself).
import { Worker } from 'node:worker_threads';

const GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { port, host, requests, durationMs, warmupMs } = workerData;
let ok = 0, failed = 0, counting = false, stop = false;
const statuses = {};
const latencies = [];
const CRLF2 = Buffer.from('\\r\\n\\r\\n');
const CHUNKED_END = Buffer.from('0\\r\\n\\r\\n');
function client(req) {
  return new Promise((done) => {
    let socket, buf = Buffer.alloc(0), t0 = 0n;
    const send = () => { if (stop) { socket.end(); return done(); } t0 = process.hrtime.bigint(); socket.write(req); };
    const connect = () => {
      buf = Buffer.alloc(0);
      socket = net.connect(port, host, send);
      socket.setNoDelay(true);
      socket.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          const headEnd = buf.indexOf(CRLF2);
          if (headEnd < 0) return;
          const head = buf.toString('latin1', 0, headEnd);
          const status = Number(head.slice(9, 12));
          const len = /\\r\\ncontent-length: *(\\d+)/i.exec(head);
          let end;
          if (len) end = headEnd + 4 + Number(len[1]);
          else if (/\\r\\ntransfer-encoding: *chunked/i.test(head)) { const z = buf.indexOf(CHUNKED_END, headEnd + 4); end = z < 0 ? Infinity : z + 5; }
          else end = headEnd + 4;
          if (buf.length < end) return;
          buf = buf.subarray(end);
          if (counting) {
            statuses[status] = (statuses[status] || 0) + 1;
            if (status >= 200 && status < 300) { ok++; latencies.push(Number(process.hrtime.bigint() - t0) / 1e6); } else failed++;
          }
          send();
          if (buf.length === 0) return;
        }
      });
      socket.on('error', () => { if (counting) failed++; });
      socket.on('close', () => { if (!stop) setTimeout(connect, 10); else done(); });
    };
    connect();
  });
}
const running = requests.map((r) => client(Buffer.from(r)));
setTimeout(() => { counting = true; const t0 = Date.now(); parentPort.postMessage({ started: true });
  setTimeout(() => { stop = true; counting = false; const ms = Date.now() - t0; parentPort.postMessage({ stopped: true });
    Promise.all(running).then(() => { latencies.sort((a, b) => a - b);
      parentPort.postMessage({ ok, failed, ms, statuses, p50: latencies[Math.floor(latencies.length / 2)] ?? 0, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 }); });
  }, durationMs);
}, warmupMs);
`;

export interface LoadResult {
  ok: number;
  failed: number;
  ms: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

/** A prebuilt HTTP/1.1 request. */
export function httpRequest(method: string, host: string, path: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * Runs one connection per request for `durationMs` after `warmupMs`; `onWindow` is called when the measured window
 * starts and when it ends (for CPU readings of the server), so the warm-up and the drain are outside it.
 */
export function runLoad(
  url: string,
  requests: Buffer[],
  durationMs: number,
  warmupMs: number,
  onWindow?: (edge: 'start' | 'stop') => void,
): Promise<LoadResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const worker = new Worker(GENERATOR, { eval: true, workerData: { host: hostname, port: Number(port), requests, durationMs, warmupMs } });
    worker.on('message', (m: LoadResult & { started?: boolean; stopped?: boolean }) => {
      if (m.started) return onWindow?.('start');
      if (m.stopped) return onWindow?.('stop');
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}
