import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';

/** Starts Prometheus in a separate Node process and returns that process with the server's port and folder. */
async function childWithPrometheus(): Promise<{ child: ReturnType<typeof spawn>; port: number; dataDir: string }> {
  const script = [
    "import { startPrometheus } from '@prom-relay/infra';",
    'const prom = await startPrometheus();',
    'console.log(JSON.stringify({ port: prom.port, dataDir: prom.dataDir }));',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  return { child, ...(JSON.parse(line) as { port: number; dataDir: string }) };
}

/** Live processes whose command line mentions `needle` (zombies excluded). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) found.push(Number(pid));
    } catch {
      // Gone while scanning.
    }
  }
  return found;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

describe('no stray servers', () => {
  it('SIGTERM to the owning Node process kills the server group and removes its folder at once', async () => {
    const { child, port, dataDir } = await childWithPrometheus();
    expect(processesMentioning(dataDir).length).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).toBe(200);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(await until(() => processesMentioning(dataDir).length === 0, 2_000)).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);

  it('SIGKILL to the owning Node process: the guard kills the server and removes its folder within about a second', async () => {
    const { child, port, dataDir } = await childWithPrometheus();
    expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).toBe(200);
    child.kill('SIGKILL');
    expect(await until(() => processesMentioning(dataDir).length === 0, 5_000)).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/-/ready`)).rejects.toThrow();
    // The guard also removes the temp folder nobody else is left to remove.
    expect(await until(() => !existsSync(dataDir), 2_000)).toBe(true);
  }, 30_000);
});
