import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

/** Listens on 127.0.0.1:`port`; a port already taken fails with a message saying what to do. */
export function listen(app: Koa, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer(app.callback());
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`Port ${port} on 127.0.0.1 is already in use; stop what holds it or pick another, e.g. PORT=3001`));
      } else {
        reject(err);
      }
    });
    server.listen(port, '127.0.0.1', () => {
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
