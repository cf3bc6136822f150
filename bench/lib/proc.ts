// CPU time and memory of another process, read from /proc: a benchmark on a shared machine reports CPU-seconds, which
// other processes do not inflate, beside wall-clock rates, which they do.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** User + system CPU-seconds the process has used so far (its threads included: worker threads, GC, libuv pool). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * The pid of the process running `executable` (its argv[0] ends with it) whose command line contains every needle, e.g.
 * `java` with `kafka.Kafka` and the broker's private temp folder (not the shell that supervises it).
 */
export function findPid(executable: string, ...needles: string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]!.endsWith(executable) && needles.every((n) => argv.some((a) => a.includes(n)))) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  return undefined;
}
