/**
 * A producer's scopes (series.ts ProducerScope: its state under one input scope and one set of producer-label values),
 * by key. Almost every producer has one — a job run pushing under its job and grouping — and a short-lived job's
 * producer is kept for `producerTtlMs` after its last push, so a relay of many small jobs holds many: the one scope is
 * held in a field, and a V8 Map (~180 B even with one entry) is made only for a second one.
 */
import type { ProducerScope } from './series.js';

export class ProducerScopes {
  private one: ProducerScope | null = null;
  private many: Map<string, ProducerScope> | null = null;

  get size(): number {
    if (this.many !== null) return this.many.size;
    return this.one === null ? 0 : 1;
  }

  get(key: string): ProducerScope | undefined {
    if (this.many !== null) return this.many.get(key);
    const one = this.one;
    return one !== null && one.key === key ? one : undefined;
  }

  /** `pscope` under its key (`pscope.key`), in place of the scope of that key if there is one. */
  set(pscope: ProducerScope): void {
    if (this.many !== null) {
      this.many.set(pscope.key, pscope);
      return;
    }
    const one = this.one;
    if (one === null || one.key === pscope.key) this.one = pscope;
    else {
      this.many = new Map([
        [one.key, one],
        [pscope.key, pscope],
      ]);
      this.one = null;
    }
  }

  delete(key: string): boolean {
    if (this.many !== null) return this.many.delete(key);
    if (this.one === null || this.one.key !== key) return false;
    this.one = null;
    return true;
  }

  /** Every scope, in the order they came; deleting any while iterating is safe. */
  values(): IterableIterator<ProducerScope> {
    if (this.many !== null) return this.many.values();
    return (this.one === null ? [] : [this.one]).values();
  }
}
