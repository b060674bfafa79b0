import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readConfig } from '../../shared/src/config';
import { createGateway } from './gateway';
import { onShutdown } from '../../shared/src/shutdown';
import { startUpstream } from '../../shared/src/upstream';
import { printUsage } from '../../shared/src/usage';

/** How long in-flight transfers may keep going after a shutdown signal. */
const DRAIN_TIMEOUT = 10_000;

async function main(): Promise<void> {
  const config = readConfig();
  const upstream = await startUpstream();
  const { app, proxy } = createGateway(upstream.url, config.token);
  const server = createServer(app);
  let port: number;
  try {
    port = await listen(server, config.port);
  } catch (err) {
    await Promise.all([proxy.close({ timeout: 0 }), upstream.close()]);
    throw err;
  }
  console.log(`[upstream] slow backend on ${upstream.url}`);
  printUsage(port, config.token);

  onShutdown(async (signal) => {
    console.log(`[gateway] ${signal}: no new connections; draining transfers for up to ${DRAIN_TIMEOUT / 1000} s`);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Queued and new proxied requests now get 503; running transfers finish or are cut at the deadline.
    await proxy.close({ timeout: DRAIN_TIMEOUT });
    server.closeAllConnections();
    await closed;
    await upstream.close();
  });
}

/** Listens on 127.0.0.1:`port`; a port already taken fails with a message saying what to do. */
function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`Port ${port} on 127.0.0.1 is already in use; stop what holds it or pick another, e.g. PORT=3001`) : err);
    });
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

main().catch((err: unknown) => {
  console.error(`[gateway] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
