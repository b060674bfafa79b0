// Shared by every Node contender: tell the parent the port, die with the parent.
import type { Server } from 'node:net';

/** The origin to proxy to, e.g. http://127.0.0.1:8080 (no trailing slash). */
export const ORIGIN = process.env.ORIGIN!;

/** Listens on a free loopback port and sends it to the parent over IPC. */
export function listen(server: Server): void {
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send!({ port: (server.address() as { port: number }).port });
  });
}

process.on('disconnect', () => process.exit(0));
// A full GC on request (children run with --expose-gc), to tell memory still held from garbage not yet collected.
process.on('message', (message) => {
  if (message !== 'gc') return;
  globalThis.gc?.();
  process.send!({ gc: typeof globalThis.gc === 'function', heapUsed: process.memoryUsage().heapUsed });
});
