// The sockets of one Kafka connection. Each one is unref'd, so a socket never keeps a finished job alive, and
// tracked, so that a send attempt past its deadline, or close(), can destroy them at once instead of waiting for
// kafkajs' own request timeouts and retries (against a broker that accepts and never answers, those take minutes).
import net from 'node:net';
import tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

const KEEP_ALIVE_DELAY_MS = 60_000;

/** kafkajs' default socket factory (it is not exported), rewritten: TLS when `ssl` is set, TCP keep-alive. */
export const defaultSocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) === 0 ? { servername: host } : {}), ...(typeof ssl === 'object' ? ssl : {}) }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  return socket;
};

export class SocketGroup {
  private readonly sockets = new Set<net.Socket>();
  private destroyed = false;

  constructor(private readonly inner: ISocketFactory = defaultSocketFactory) {}

  /** The factory to give kafkajs; once the group is destroyed it refuses new sockets (kafkajs sees a connection error). */
  readonly factory: ISocketFactory = (args) => {
    if (this.destroyed) throw new Error('the emitter closed this Kafka connection');
    const socket = this.inner(args);
    socket.unref();
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  };

  get open(): number {
    return this.sockets.size;
  }

  /** Destroys every socket with an error (kafkajs rejects what is in flight and clears its timers) and refuses new ones. */
  destroy(reason: string): void {
    this.destroyed = true;
    for (const socket of this.sockets) socket.destroy(new Error(reason));
    this.sockets.clear();
  }
}
