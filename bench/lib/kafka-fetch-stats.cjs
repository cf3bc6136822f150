// Diagnosis preload for a relay under a bench (bench/relay-scale.ts, BENCH_FETCH_STATS=<dir>): counts the kafkajs
// consumer's fetches, batches and records of this process, by topic (the name up to its first '-'), into
// <dir>/<pid>.json every 200 ms. Run: node --require bench/lib/kafka-fetch-stats.cjs <relay cli> aggregate ...
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const kafkajs = require('kafkajs');

const dir = process.env.BENCH_FETCH_STATS;
const stats = { fetches: 0, batches: 0, records: 0, byTopic: {} };
const consumer = kafkajs.Kafka.prototype.consumer;
kafkajs.Kafka.prototype.consumer = function (...args) {
  const c = consumer.apply(this, args);
  c.on(c.events.FETCH, () => stats.fetches++);
  const run = c.run;
  c.run = (opts) =>
    run({
      ...opts,
      eachBatch:
        opts.eachBatch &&
        (async (payload) => {
          const n = payload.batch.messages.length;
          const t = (stats.byTopic[payload.batch.topic.replace(/-.*/, '')] ??= { batches: 0, records: 0 });
          stats.batches++;
          stats.records += n;
          t.batches++;
          t.records += n;
          return opts.eachBatch(payload);
        }),
    });
  return c;
};
if (dir) setInterval(() => writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(stats)), 200).unref();
