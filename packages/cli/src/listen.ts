import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address } from './config/values';

/** Listens on `at`; rejects with a message naming the address (EADDRINUSE, EACCES, …). */
export function listen(server: Server, at: Address, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`cannot listen for ${what} on ${hostPort(at.host, at.port)}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve(`http://${hostPort(bound.address, bound.port)}`);
    });
  });
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Stops accepting and resolves once every connection is gone; open ones are cut after `closeAll()`. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
