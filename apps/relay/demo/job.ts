// One short-lived sample job: does a few steps of "work", emits its metrics through @prom-relay/emitter, exits.
// Prints what it emitted (its own cumulative totals) as one JSON line on stdout.
import { createEmitter } from '@prom-relay/emitter';
import { Counter, Histogram, Registry } from 'prom-client';

const [brokers, topic, job, instance, stepsArg] = process.argv.slice(2);
if (!brokers || !topic || !job || !instance) {
  process.stderr.write('usage: job.ts <brokers> <topic> <job> <instance> [steps]\n');
  process.exit(2);
}
const steps = Number(stepsArg ?? 5);

const registry = new Registry();
const rows = new Counter({ name: 'demo_rows_processed_total', help: 'Rows processed.', labelNames: ['table'], registers: [registry] });
const stepSeconds = new Histogram({
  name: 'demo_step_duration_seconds',
  help: 'Duration of one step.',
  buckets: [0.05, 0.1, 0.25, 0.5],
  registers: [registry],
});

const emitter = createEmitter({ brokers: brokers.split(','), topic, clientId: `demo-${job}` });
emitter.on('error', (err) => process.stderr.write(`emitter: ${err.code} ${err.message}\n`));

const emitted: Record<string, number> = {};
for (let step = 0; step < steps; step++) {
  const started = Date.now();
  const users = 1 + Math.floor(Math.random() * 100);
  const orders = Math.floor(Math.random() * 50);
  await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
  rows.inc({ table: 'users' }, users);
  rows.inc({ table: 'orders' }, orders);
  stepSeconds.observe((Date.now() - started) / 1000);
  emitted['demo_rows_processed_total{table="users"}'] = (emitted['demo_rows_processed_total{table="users"}'] ?? 0) + users;
  emitted['demo_rows_processed_total{table="orders"}'] = (emitted['demo_rows_processed_total{table="orders"}'] ?? 0) + orders;
  emitted['demo_step_duration_seconds_count'] = (emitted['demo_step_duration_seconds_count'] ?? 0) + 1;
  // Cumulative snapshot of the whole registry: the relay turns it into increases.
  await emitter.push(registry, { job, groupings: { instance } });
}
const closed = await emitter.close(10_000);
process.stdout.write(`${JSON.stringify({ job, instance, producerId: emitter.producerId, emitted, closed })}\n`);
