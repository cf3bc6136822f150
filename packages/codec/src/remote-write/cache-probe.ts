/**
 * Decides, per label name, whether values that miss a cache kept across calls are added to it. Names whose
 * values mostly miss (a path, a request id: every series distinct) are not: adding to a large Map, and
 * later resetting it, costs several times what writing the value directly does. Only misses are counted
 * (a hit costs nothing extra), against a clock of label sets written. A skipping name is probed again
 * after a while (a window in which its misses are added again), so values that start to repeat are cached.
 */

/** Misses are judged over windows of at least this many label sets. */
export const PROBE_WINDOW = 256;
/** Label sets a name skips the cache before it is probed again; doubles while probes keep missing. */
export const SKIP_BASE = 16 * 1024;
const SKIP_MAX = 1024 * 1024;

export class CacheProbe {
  /** Whether misses of this name skip the cache now. */
  skipping = false;
  private windowStart: number;
  /** Length of the current window: PROBE_WINDOW while cached, the skip period while skipping. */
  private span = PROBE_WINDOW;
  private misses = 0;
  private skipFor = SKIP_BASE;

  constructor(
    /** The label name this probe decides for. */
    readonly name: string,
    /** The clock (label sets written so far) when the probe was made. */
    now: number,
  ) {
    this.windowStart = now;
  }

  /** Records a miss at `now`; true when the value should be written without adding it to the cache. */
  miss(now: number): boolean {
    if (now - this.windowStart >= this.span) this.decide(now);
    this.misses++;
    return this.skipping;
  }

  /** At the end of a window: skip when misses came in at least every other label set, else cache. */
  private decide(now: number): void {
    if (this.skipping) {
      // The skip period is over: probe for one window.
      this.skipping = false;
      this.span = PROBE_WINDOW;
    } else if (this.misses * 2 >= now - this.windowStart) {
      this.skipping = true;
      this.span = this.skipFor;
      this.skipFor = Math.min(this.skipFor * 2, SKIP_MAX);
    } else {
      this.skipFor = SKIP_BASE;
    }
    this.windowStart = now;
    this.misses = 0;
  }
}
