import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { cachedGoBinary, ensureGoBinary, GO_BINARIES, type GoBinaryName } from '../go/go-binaries.js';
import { startKafka } from '../kafka/broker.js';
import type {} from './provided-context.js';

const TESTING_ENTRY = '@prom-relay/infra/testing';

/** The servers built with `go install` on first use, and the calls that show a project starts them. */
const GO_SERVER_CALLS: Record<GoBinaryName, string> = {
  prometheus3: 'startPrometheus3(',
  victoriaMetrics: 'startVictoriaMetrics(',
};

/**
 * Root vitest globalSetup: one Kafka broker for the whole run, stopped (data removed) at the end.
 * Skipped when no selected project mentions @prom-relay/infra/testing, so `--project codec` pays nothing;
 * PROM_RELAY_TEST_KAFKA=always|never overrides the scan.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const roots = project.vitest.projects.map((p) => p.config.root);
  // First, so the builds overlap the broker's start and every test that does not need them.
  const builds = startGoBuilds(roots);
  const mode = process.env.PROM_RELAY_TEST_KAFKA ?? 'auto';
  const needed = mode === 'always' || (mode !== 'never' && roots.some((root) => projectNeedsTestBroker(root)));
  if (!needed) {
    project.provide('promRelayKafkaBrokers', []);
    return builds ? () => builds.stop() : undefined;
  }
  const started = Date.now();
  let kafka;
  try {
    kafka = await startKafka({ onProgress: (line) => process.stderr.write(`[infra] ${line}\n`) });
  } catch (err) {
    await builds?.stop();
    throw err;
  }
  process.stderr.write(`[infra] test broker ${kafka.brokers.join(',')} ready in ${Date.now() - started} ms\n`);
  project.provide('promRelayKafkaBrokers', kafka.brokers);
  return async () => {
    await Promise.all([kafka.stop(), builds?.stop()]);
  };
}

/**
 * Starts, in the background, `go install` of each Go-built server (Prometheus 3, VictoriaMetrics) that a selected
 * project starts and that is not cached yet: tests calling startPrometheus3() / startVictoriaMetrics() then wait
 * on the build's lock instead of building, and the minutes of a first build overlap the rest of the run.
 * PROM_RELAY_TEST_GO_BUILDS=never leaves every build to the first test that needs it. `stop()` (the teardown)
 * kills a build still running: nobody needs it any more, and Go's build cache keeps what was compiled.
 */
export function startGoBuilds(roots: string[]): { names: GoBinaryName[]; stop(): Promise<void> } | undefined {
  if (process.env.PROM_RELAY_TEST_GO_BUILDS === 'never') return undefined;
  const names = (Object.keys(GO_SERVER_CALLS) as GoBinaryName[]).filter(
    (name) => !cachedGoBinary(GO_BINARIES[name]) && roots.some((root) => projectMentions(root, GO_SERVER_CALLS[name])),
  );
  if (names.length === 0) return undefined;
  const controller = new AbortController();
  const log = (line: string): void => void process.stderr.write(`[infra] ${line}\n`);
  const running = names.map((name) =>
    ensureGoBinary(name, { signal: controller.signal, onProgress: log }).then(
      () => undefined,
      // The tests that need it build again and fail with the cause; the run itself goes on.
      (err: unknown) => log(`background build of ${name} failed: ${err instanceof Error ? err.message : String(err)}`),
    ),
  );
  return {
    names,
    async stop() {
      controller.abort();
      await Promise.all(running);
    },
  };
}

/** True when a file under root/test or root/src mentions the testing entry (a few dozen small files). */
export function projectNeedsTestBroker(root: string): boolean {
  return projectMentions(root, TESTING_ENTRY);
}

/** True when a source file under root/test or root/src (not node_modules, dist, or this file) contains `text`. */
export function projectMentions(root: string, text: string): boolean {
  return ['test', 'src'].some((dir) => scan(join(root, dir), text));
}

function scan(dir: string, text: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && scan(path, text)) return true;
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !path.endsWith(join('testing', 'global-setup.ts'))) {
      if (readFileSync(path, 'utf8').includes(text)) return true;
    }
  }
  return false;
}
