// A checkpoint on the wire: gzip'd JSON, with offset and owner also in headers so readers skip old ones cheaply.
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createGzip, gunzip, constants as zlibConstants, type ZlibOptions } from 'node:zlib';
import { CheckpointError } from '../errors.js';
import type { Checkpoint } from '../model.js';
import { jsonChunks } from './json-chunks.js';

const gunzipAsync = promisify(gunzip);
/** Characters of JSON handed to the compressor at a time. */
const CHUNK_CHARS = 256 * 1024;

export const CHECKPOINT_HEADERS = {
  offset: 'prom-relay-checkpoint-offset',
  owner: 'prom-relay-checkpoint-owner',
  encoding: 'prom-relay-checkpoint-encoding',
} as const;

/** The compacted topic's key: one live checkpoint per source partition. */
export function checkpointKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/**
 * gzip'd JSON.stringify(cp), written to the compressor in pieces (json-chunks.ts): never the whole text in one string
 * or one Buffer (~11 MB per 100k series, every flush for an owner partition).
 */
export async function encodeCheckpoint(cp: Checkpoint): Promise<Buffer> {
  // Level 1: most of gzip's gain on repetitive label JSON for a fraction of the CPU. Room for a few pieces in the
  // stream's buffer, so the next piece is made while the libuv pool compresses the last.
  const gz = createGzip({ level: 1, memLevel: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY, highWaterMark: 4 * CHUNK_CHARS, chunkSize: 64 * 1024 } as ZlibOptions);
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  try {
    for (const piece of jsonChunks(cp, CHUNK_CHARS)) {
      if (!gz.write(piece)) await Promise.race([once(gz, 'drain'), done]);
    }
  } catch (err) {
    gz.destroy();
    throw err;
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

export async function decodeCheckpoint(value: Buffer): Promise<Checkpoint> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await gunzipAsync(value)).toString('utf8'));
  } catch (err) {
    throw new CheckpointError('PROM_RELAY_CHECKPOINT_CORRUPT', `checkpoint does not decode: ${(err as Error).message}`, { cause: err });
  }
  const cp = parsed as Partial<Checkpoint>;
  if (
    typeof cp !== 'object' ||
    cp === null ||
    cp.version !== 1 ||
    typeof cp.topic !== 'string' ||
    typeof cp.partition !== 'number' ||
    typeof cp.offset !== 'string' ||
    !/^\d+$/.test(cp.offset) ||
    (cp.offsetBase !== undefined && (typeof cp.offsetBase !== 'string' || !/^\d+$/.test(cp.offsetBase))) ||
    (cp.lastRecord !== undefined && (typeof cp.lastRecord?.timestamp !== 'string' || typeof cp.lastRecord.bytes !== 'number')) ||
    typeof cp.lastFlushTimestamp !== 'number'
  ) {
    throw new CheckpointError('PROM_RELAY_CHECKPOINT_CORRUPT', `checkpoint has an unknown version or shape (version ${String(cp?.version)})`);
  }
  return cp as Checkpoint;
}
