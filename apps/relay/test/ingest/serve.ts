// A plain node http server in front of the ingest, as the relay's server mounts it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIngest } from '../../src/ingest/index.js';
import type { IngestOptions } from '../../src/ingest/index.js';

export interface ServedIngest {
  url: string;
  close(): Promise<void>;
}

export async function serveIngest(options: IngestOptions): Promise<ServedIngest> {
  const ingest = createIngest(options);
  const server = createServer((req, res) => {
    void ingest.handle(req, res).then((ours) => {
      if (!ours) {
        res.statusCode = 404;
        res.end('not the ingest\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      await ingest.close();
    },
  };
}
