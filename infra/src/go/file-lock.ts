import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { sleep } from '../process/server-process.js';

/** Who holds a lock: written into it, so a waiter can tell a live holder from one that died. */
interface LockOwner {
  pid: number;
  since: number;
  what: string;
}

/** True when `pid` is a live process on this machine (a zombie counts as gone). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * A lock between processes of one machine: a directory created atomically by `mkdir`, holding the owner's pid.
 * A lock whose owner died (crash, SIGKILL) is taken over; one whose owner file never appeared is taken over
 * after `graceMs`. `release()` removes it. Waiters poll every `pollMs` and report who they wait for.
 */
export async function acquireLock(
  dir: string,
  what: string,
  options: { timeoutMs: number; pollMs?: number; onWait?: (owner: LockOwner | undefined) => void; signal?: AbortSignal },
): Promise<{ release(): void }> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 500;
  let reported = false;
  let ownerless: number | undefined;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, since: Date.now(), what } satisfies LockOwner));
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(dir);
    if (owner && !processAlive(owner.pid)) {
      // The holder died without releasing: its work is unfinished, take over.
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (!owner) {
      // Between the holder's mkdir and its owner file, or a holder that died right there.
      ownerless ??= Date.now();
      if (Date.now() - ownerless > 5_000) {
        rmSync(dir, { recursive: true, force: true });
        ownerless = undefined;
        continue;
      }
    } else {
      ownerless = undefined;
    }
    if (!reported) {
      reported = true;
      options.onWait?.(owner);
    }
    if (options.signal?.aborted) throw new InfraError('PROM_RELAY_INFRA_STATE', `gave up waiting for the lock ${dir}: aborted`);
    if (Date.now() > deadline) {
      throw new InfraError(
        'PROM_RELAY_INFRA_GO_BUILD',
        `waited ${options.timeoutMs} ms for ${dir} (${owner ? `held by pid ${owner.pid} since ${new Date(owner.since).toISOString()} for ${owner.what}` : 'no owner file'}); ` +
          'another build of the same binary is still running: wait for it, or remove the folder if no such process exists',
      );
    }
    await sleep(pollMs);
  }
}
