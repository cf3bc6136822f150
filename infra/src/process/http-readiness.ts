import { InfraError } from '../errors.js';
import { logShowsPortClash } from './ports.js';
import { sleep, type ServerProcess } from './server-process.js';

/** Polls `url` until it answers 200; fails fast when the process exits, with its log tail. */
export async function waitForHttpReady(proc: ServerProcess, what: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!proc.running) {
      const log = proc.logTail(30);
      if (logShowsPortClash(log)) {
        throw new InfraError('PROM_RELAY_INFRA_PORT_TAKEN', `${what} could not bind ${new URL(url).host}: address already in use. Log tail:\n${proc.logTail(5)}`);
      }
      throw new InfraError('PROM_RELAY_INFRA_START_FAILED', `${what} exited during start-up (exit ${JSON.stringify(proc.exitStatus)}); log ${proc.logFile}:\n${log}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(50);
  }
  throw new InfraError(
    'PROM_RELAY_INFRA_START_TIMEOUT',
    `${what} did not answer ${url} with 200 within ${timeoutMs} ms (last: ${last}); log ${proc.logFile}:\n${proc.logTail(20)}`,
  );
}
