/**
 * Decides, per label name, whether its values go through a cache kept across calls. Names whose values
 * mostly miss (a path, a request id: every series distinct) skip it: a miss costs an insert into a large
 * Map, several times what writing the value directly costs, while a hit saves little over that. While
 * skipping, one write in about `sampleEvery` still goes through the cache, so a name whose values start to
 * repeat (the same series re-sent at every flush) is noticed and cached again.
 */

/** This many cache lookups of one name decide whether its values repeat. */
export const PROBE_WINDOW = 256;
/** Start skipping when at least half of a window's lookups missed... */
const SKIP_MISSES = PROBE_WINDOW / 2;
/** ...and stop when at most a quarter of the sampled lookups missed (the gap between the two avoids flapping). */
const RESUME_MISSES = PROBE_WINDOW / 4;

export class CacheProbe {
  /** Whether writes skip the cache now. */
  skipping = false;
  private countdown = 0;
  private lookups = 0;
  private misses = 0;
  private seed = 0x2545f491;

  constructor(private readonly sampleEvery: number) {}

  /** True when this write should skip the cache; false for the sampled writes that still look it up. */
  skip(): boolean {
    if (!this.skipping || --this.countdown > 0) return this.skipping;
    // Gaps vary (half to one and a half sampleEvery) so samples drift across a sequence that repeats.
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    this.countdown = (this.sampleEvery >>> 1) + ((this.seed >>> 16) % this.sampleEvery);
    return false;
  }

  /** Records one cache lookup; at the end of a window decides whether to skip the cache. */
  record(missed: boolean): void {
    if (missed) this.misses++;
    if (++this.lookups < PROBE_WINDOW) return;
    if (!this.skipping && this.misses >= SKIP_MISSES) {
      this.skipping = true;
      this.countdown = this.sampleEvery;
    } else if (this.skipping && this.misses <= RESUME_MISSES) {
      this.skipping = false;
    }
    this.lookups = 0;
    this.misses = 0;
  }
}
