import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { until } from './wait';

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

/** A port on 127.0.0.1 that was just listened on and closed again: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const running = await listen(net.createServer());
  await running.close();
  return running.port;
}

/** Resolves once `running`'s server has exactly `count` open connections (bounded like `until`). */
export async function waitForConnections(running: Running, count: number): Promise<void> {
  const open = () => new Promise<number>((resolve, reject) => running.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  await until(async () => (await open()) === count, `${count} open connections`, { every: 5 });
}
