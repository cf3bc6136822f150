// How a piece of work's CPU time grows with its input, for the regression tests that guard linear work: measured as a
// ratio of CPU times in one process, never against a fixed duration (the machine is shared and noisy).

/** CPU time (user + system, µs) of one call. */
export function cpuMicros(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/**
 * CPU of `work(large)` over CPU of `work(small)`, each the least of `runs` calls (the one the shared machine disturbed
 * least), the two sizes taken in turn so that both see the same spells of contention, after a warm-up call of each
 * (compiled code, grown buffers, as in a running relay). Measured again, up to `attempts` times in all, while at or
 * over `bound`: contention from the test files beside one disturbs an attempt now and then (a linear parser measured
 * 8.0 for 4x once in CI, 4.1-5.6 alone), while quadratic work is over the bound on every attempt. The least answers.
 */
export function cpuGrowth<T>(small: T, large: T, work: (input: T) => void, opts: { bound: number; runs?: number; attempts?: number }): number {
  let least = Infinity;
  for (let attempt = 0; attempt < (opts.attempts ?? 3) && least >= opts.bound; attempt++) {
    work(small);
    work(large);
    let bestSmall = Infinity;
    let bestLarge = Infinity;
    for (let i = 0; i < (opts.runs ?? 9); i++) {
      bestSmall = Math.min(bestSmall, cpuMicros(() => work(small)));
      bestLarge = Math.min(bestLarge, cpuMicros(() => work(large)));
    }
    least = Math.min(least, bestLarge / bestSmall);
  }
  return least;
}
