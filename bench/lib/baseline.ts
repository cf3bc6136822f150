// An older commit of the relay, checked out beside the repository, so a benchmark can run it interleaved with the
// current tree against the same broker: before/after figures from one session, where machine noise hits both.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

function link(target: string, path: string): void {
  try {
    symlinkSync(target, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export interface Checkout {
  /** the folder holding apps/relay of that commit */
  root: string;
  /** short commit id, with "+ changes" when the tree differs from it */
  label: string;
}

/** The current tree: its commit, marked when apps/ or packages/ hold uncommitted changes. */
export function currentCheckout(repo: string): Checkout {
  const sha = git(repo, 'rev-parse', '--short', 'HEAD');
  const dirty = git(repo, 'status', '--porcelain', '--', 'apps', 'packages').length > 0;
  return { root: repo, label: dirty ? `${sha} + uncommitted changes` : sha };
}

/**
 * A detached worktree of `ref` (default folder: the system temp folder), created once and reused. Its node_modules
 * links every third-party package to the repository's own and the workspace packages to the worktree's folders, so
 * the old relay runs its own code with the same dependencies (no `npm ci`).
 */
export function baselineCheckout(repo: string, ref: string, dir?: string): Checkout {
  const sha = git(repo, 'rev-parse', '--short', `${ref}^{commit}`);
  const root = dir ?? join(tmpdir(), `prom-relay-bench-${sha}`);
  if (!existsSync(join(root, 'apps/relay/src/cli.ts'))) {
    git(repo, 'worktree', 'prune');
    git(repo, 'worktree', 'add', '--detach', root, sha);
  }
  const at = git(root, 'rev-parse', '--short', 'HEAD');
  if (at !== sha) throw new Error(`${root} holds ${at}, not ${sha}: remove it or set BENCH_BASELINE_DIR`);
  const modules = join(root, 'node_modules');
  const scope = join(modules, '@prom-relay');
  mkdirSync(scope, { recursive: true });
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name !== '@prom-relay') link(join(repo, 'node_modules', name), join(modules, name));
  }
  for (const name of readdirSync(join(repo, 'node_modules/@prom-relay'))) {
    // Relative links (../../packages/codec): the same link inside the worktree points at the worktree's package.
    link(readlinkSync(join(repo, 'node_modules/@prom-relay', name)), join(scope, name));
  }
  return { root, label: sha };
}
