// CPU time and memory of a process and all its descendants (a relay primary with its cluster workers), from /proc.
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds, rssBytes } from './proc.js';

/** The pid and every descendant's pid (children of children too) alive now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/** CPU-seconds per live process of the tree (a process that exits between two readings takes its CPU with it). */
export function treeCpu(root: number): Map<number, number> {
  return new Map(processTree(root).map((pid) => [pid, safe(() => cpuSeconds(pid), 0)]));
}

/** CPU-seconds the tree used between two readings (processes present in both; new ones counted from zero). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

/** Summed RSS of the tree's processes whose executable is `exe` (e.g. node, not a helper binary). */
export function treeRss(root: number, exe?: string): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    if (exe !== undefined) {
      const argv0 = safe(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!, '');
      if (!argv0.endsWith(exe)) continue;
    }
    sum += safe(() => rssBytes(pid), 0);
  }
  return sum;
}
