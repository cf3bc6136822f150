// The owner's series as a store: their rows (combined-table.ts) and what few of them hold apart (`Rare`, by row),
// handed out as cursors (combined.ts `Combined`).
import type { Labels } from '@prom-relay/codec';
import type { CombineMode } from '../model.js';
import { Combined } from './combined.js';
import { LOW, MODE_SHIFT, MODES, modeIndex, type Rare } from './combined-entry.js';
import { CombinedTable } from './combined-table.js';

/** The owner's series: their rows (combined-table.ts) and what few of them hold apart (`Rare`, by row). */
export class CombinedStore {
  readonly table: CombinedTable = new CombinedTable(
    (row) => MODES[modeIndex(this.table.packed[row]!)]!,
    (from, to) => {
      const rare = this.rare.get(from);
      if (rare !== undefined) {
        this.rare.delete(from);
        this.rare.set(to, rare);
      } else this.rare.delete(to);
    },
    (row) => {
      this.rare.delete(row);
    },
  );
  readonly rare = new Map<number, Rare>();

  get size(): number {
    return this.table.size;
  }

  /**
   * A new series (in no index yet: `set` it next). `seen` and `start` are ms since the combiner's epoch; `labels` in
   * the order of its key's labels (see `key`).
   */
  create(labels: Labels, mode: CombineMode, seen: number, start: number): Combined {
    const t = this.table;
    const row = t.newRow(labels);
    t.setSeen(row, seen);
    t.packed[row] = Math.floor(start) * LOW + (MODES.indexOf(mode) << MODE_SHIFT);
    return new Combined(this, row);
  }

  get(id: string): Combined | undefined {
    const row = this.table.find(id);
    return row < 0 ? undefined : new Combined(this, row);
  }

  /** `c` (made by `create`) is the series of `id` now, in place of the one before (whose place in the order it takes). */
  set(id: string, c: Combined): void {
    c.row = this.table.put(id, c.row);
  }

  delete(id: string): boolean {
    return this.table.delete(id);
  }

  /**
   * Every series, in the order they were first made, as one cursor moved from row to row (do not keep it past its
   * step); deleting the one just yielded while iterating is safe.
   */
  *values(): IterableIterator<Combined> {
    const t = this.table;
    const c = new Combined(this, -1);
    for (let row = 0; row < t.end; row++) {
      if (!t.inUse(row)) continue;
      c.row = row;
      yield c;
    }
  }

  /** A cursor to move along the rows by hand (`row`; see CombinedTable.end): one object for a walk over every series. */
  cursor(): Combined {
    return new Combined(this, -1);
  }
}
