// The working tree's relay as it runs when deployed: compiled JavaScript (`bin/prom-relay` runs dist/cli.js), not
// TypeScript through tsx's loader, whose own thread and transpile cache would add tens of MiB to the RSS measured.
// Bundled with esbuild (the repository's own, tsx's dependency) into .cache/bench-relay/: the workspace packages from
// their sources, third-party packages left to node_modules. Leaves dist/ alone (other work may be building it).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Builds the bundle of the relay in `root` (default: this working tree; a baseline checkout from lib/baseline.ts for
 * before/after runs) into .cache/<name>; answers the path of its cli.js (`node <it> ingest --config …`).
 */
export async function bundleRelay(root = REPO, name = 'bench-relay'): Promise<string> {
  const out = join(REPO, '.cache', name);
  mkdirSync(join(out, 'dist'), { recursive: true });
  // version.ts reads ../package.json beside the module; "type": "module" makes the bundle's .js files ES modules.
  copyFileSync(join(root, 'apps/relay/package.json'), join(out, 'package.json'));
  await build({
    entryPoints: { cli: join(root, 'apps/relay/src/cli.ts'), worker: join(root, 'apps/relay/src/ingest/worker.ts') },
    outdir: join(out, 'dist'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@prom-relay/source'],
    sourcemap: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'third-party-external',
        setup(b) {
          // Bare specifiers other than the workspace's own packages stay imports, resolved from the repository's node_modules.
          b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@prom-relay/') ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
  return join(out, 'dist/cli.js');
}
