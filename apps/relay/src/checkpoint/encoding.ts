// A checkpoint on the wire: gzip'd JSON, with offset and owner also in headers so readers skip old ones cheaply.
import { promisify } from 'node:util';
import { gunzip, gzip, constants as zlibConstants } from 'node:zlib';
import { CheckpointError } from '../errors.js';
import type { Checkpoint } from '../model.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const CHECKPOINT_HEADERS = {
  offset: 'prom-relay-checkpoint-offset',
  owner: 'prom-relay-checkpoint-owner',
  encoding: 'prom-relay-checkpoint-encoding',
} as const;

/** The compacted topic's key: one live checkpoint per source partition. */
export function checkpointKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export async function encodeCheckpoint(cp: Checkpoint): Promise<Buffer> {
  const json = JSON.stringify(cp);
  // Level 1: most of gzip's gain on repetitive label JSON for a fraction of the CPU.
  return gzipAsync(Buffer.from(json), { level: 1, memLevel: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
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
    typeof cp.lastFlushTimestamp !== 'number'
  ) {
    throw new CheckpointError('PROM_RELAY_CHECKPOINT_CORRUPT', `checkpoint has an unknown version or shape (version ${String(cp?.version)})`);
  }
  return cp as Checkpoint;
}
