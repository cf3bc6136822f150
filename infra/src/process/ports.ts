import { createServer } from 'node:net';
import { InfraError } from '../errors.js';

export const LOOPBACK = '127.0.0.1';

/** A port the kernel considers free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Throws PROM_RELAY_INFRA_PORT_TAKEN naming `what` when `port` cannot be bound on loopback. */
export function assertPortFree(port: number, what: string): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new InfraError('PROM_RELAY_INFRA_STATE', `${what}: port ${port} is not a valid TCP port (1-65535)`));
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new InfraError(
          'PROM_RELAY_INFRA_PORT_TAKEN',
          `${what}: port ${LOOPBACK}:${port} is already in use (${err.code ?? err.message}); stop the process holding it (\`ss -ltnp 'sport = :${port}'\`) or let infra pick a free port by not passing one`,
          { cause: err },
        ),
      );
    });
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** True when a server log says its listen socket could not be bound. */
export function logShowsPortClash(log: string): boolean {
  return /address already in use|BindException|bind: address/i.test(log);
}

/**
 * Starts a server on `requested` (checked free first) or on a free loopback port; an auto-picked port lost to a race
 * (`PROM_RELAY_INFRA_PORT_TAKEN` from `launch`) is tried once more with a fresh one. Answers the port it runs on.
 */
export async function launchOnPort(requested: number | undefined, what: string, launch: (port: number) => Promise<void>): Promise<number> {
  if (requested !== undefined) {
    await assertPortFree(requested, what);
    await launch(requested);
    return requested;
  }
  const port = await freePort();
  try {
    await launch(port);
    return port;
  } catch (err) {
    if (!(err instanceof InfraError && err.code === 'PROM_RELAY_INFRA_PORT_TAKEN')) throw err;
    const retry = await freePort();
    await launch(retry);
    return retry;
  }
}
