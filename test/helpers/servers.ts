import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { handoff, type HandoffMiddleware, type ProxyOptions } from '@handoff/koa';

export interface Running {
  server: http.Server | net.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 port 0 and returns a closer that also drops every open connection. */
export async function listen(server: http.Server | net.Server): Promise<Running> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function upstream(handler: http.RequestListener): Promise<Running> {
  return listen(http.createServer(handler));
}

/** A raw TCP upstream: `onSocket` writes exact bytes, so malformed responses can be produced. */
export function rawUpstream(onSocket: (socket: net.Socket, request: Promise<string>) => void): Promise<Running> {
  return listen(
    net.createServer((socket) => {
      const request = new Promise<string>((resolve) => {
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk.toString('latin1');
          if (data.includes('\r\n\r\n')) resolve(data);
        });
      });
      socket.on('error', () => {});
      onSocket(socket, request);
    }),
  );
}

export interface Gateway extends Running {
  app: Koa;
  handoff: HandoffMiddleware;
  /** Errors the app emitted, in order. */
  errors: Error[];
}

/** A Koa app with handoff() installed and `route` as its only handler. */
export async function gateway(
  route: Koa.Middleware,
  options?: ProxyOptions,
  configure?: (app: Koa) => void,
): Promise<Gateway> {
  const app = new Koa();
  const errors: Error[] = [];
  app.silent = true;
  app.on('error', (err: Error) => errors.push(err));
  const middleware = handoff(options);
  configure?.(app);
  app.use(middleware);
  app.use(route);
  const running = await listen(http.createServer(app.callback()));
  return {
    ...running,
    app,
    handoff: middleware,
    errors,
    close: async () => {
      await middleware.close({ timeout: 0 });
      await running.close();
    },
  };
}

/** Resolves once `predicate` holds, checking on every turn of the event loop (bounded by the test timeout). */
export async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Settles like `promise`, or rejects if it has not settled within `ms` (so a hang fails the test instead). */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `running`'s server has exactly `count` open connections (bounded like `until`). */
export async function waitForConnections(running: Running, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<number>((resolve, reject) => running.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    if (open === count) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} open connections (${open} open)`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
