import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startKafka } from '../kafka/broker.js';
import type {} from './provided-context.js';

const TESTING_ENTRY = '@prom-relay/infra/testing';

/**
 * Root vitest globalSetup: one Kafka broker for the whole run, stopped (data removed) at the end.
 * Skipped when no selected project mentions @prom-relay/infra/testing, so `--project codec` pays nothing;
 * PROM_RELAY_TEST_KAFKA=always|never overrides the scan.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env.PROM_RELAY_TEST_KAFKA ?? 'auto';
  const roots = project.vitest.projects.map((p) => p.config.root);
  const needed = mode === 'always' || (mode !== 'never' && roots.some((root) => projectNeedsTestBroker(root)));
  if (!needed) {
    project.provide('promRelayKafkaBrokers', []);
    return undefined;
  }
  const started = Date.now();
  const kafka = await startKafka({ onProgress: (line) => process.stderr.write(`[infra] ${line}\n`) });
  process.stderr.write(`[infra] test broker ${kafka.brokers.join(',')} ready in ${Date.now() - started} ms\n`);
  project.provide('promRelayKafkaBrokers', kafka.brokers);
  return async () => {
    await kafka.stop();
  };
}

/** True when a file under root/test or root/src mentions the testing entry (a few dozen small files). */
export function projectNeedsTestBroker(root: string): boolean {
  return ['test', 'src'].some((dir) => scan(join(root, dir)));
}

function scan(dir: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && scan(path)) return true;
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !path.endsWith(join('testing', 'global-setup.ts'))) {
      if (readFileSync(path, 'utf8').includes(TESTING_ENTRY)) return true;
    }
  }
  return false;
}
