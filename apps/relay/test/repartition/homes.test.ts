// Producer homes are where the Java client's and kafkajs's default partitioner put the format's key: checked against
// kafkajs's own partitioner for many keys (lengths 0–40, ASCII and multi-byte) and partition counts.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { homePartition } from '../../src/repartition/index.js';

const { Partitioners } = kafkajs;

describe('homePartition', () => {
  it('equals kafkajs DefaultPartitioner (murmur2) for every key length and partition count', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const keys = [''];
    for (let n = 1; n <= 40; n++) keys.push(`job=${'x'.repeat(n)}`.slice(0, n), `job=nightly-ëxport-${n},region=eu-${'é'.repeat(n % 5)}`);
    for (const partitions of [1, 2, 3, 5, 12, 64]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (const key of keys) {
        const theirs = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect({ key, partitions, p: homePartition(key, partitions) }).toEqual({ key, partitions, p: theirs });
      }
    }
  });
});
