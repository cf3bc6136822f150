// Request bodies read up to a cap: Content-Length first, then while streaming, then after decompression.
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { IngestError } from './errors.js';

function tooLarge(what: string, maxBytes: number): IngestError {
  return new IngestError('PROM_RELAY_INGEST_TOO_LARGE', `${what} exceeds the limit of ${maxBytes} bytes`);
}

/** The raw body bytes; IngestError TOO_LARGE past maxBytes (nothing beyond the cap is buffered). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(`Content-Length ${declared}`, maxBytes));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        reject(tooLarge('request body', maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('close', () => {
      // The client went away before the body ended: nothing to answer, but the request must not hang. Not a bad body:
      // its own code, so a flaky network does not read as clients sending bad payloads.
      if (done) return;
      done = true;
      reject(new IngestError('PROM_RELAY_INGEST_ABORTED', 'the client closed the connection before the body ended'));
    });
    req.once('error', (err) => {
      if (done) return;
      done = true;
      // Node's "aborted" (ECONNRESET), before the close: the connection ended mid-body.
      reject(new IngestError('PROM_RELAY_INGEST_ABORTED', `the connection ended before the body did: ${err.message}`, { cause: err }));
    });
  });
}

/** Undoes a gzip Content-Encoding (prom-client's Pushgateway can send one) without inflating past maxBytes. */
export function gunzipBody(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        return reject(tooLarge('gunzipped request body', maxBytes));
      }
      reject(new IngestError('PROM_RELAY_INGEST_BODY', `request body is not valid gzip: ${err.message}`, { cause: err }));
    });
  });
}
