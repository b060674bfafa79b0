import { readConfig } from '../../shared/src/config';
import { createGateway } from './gateway';
import { listen } from './listen';
import { onShutdown } from '../../shared/src/shutdown';
import { startUpstream } from '../../shared/src/upstream';
import { printUsage } from '../../shared/src/usage';

/** How long in-flight transfers may keep going after a shutdown signal. */
const DRAIN_TIMEOUT = 10_000;

async function main(): Promise<void> {
  const config = readConfig();
  const upstream = await startUpstream();
  const { app, proxy } = createGateway(upstream.url, config.token);

  let gateway: Awaited<ReturnType<typeof listen>>;
  try {
    gateway = await listen(app, config.port);
  } catch (err) {
    await Promise.all([proxy.close({ timeout: 0 }), upstream.close()]);
    throw err;
  }
  console.log(`[upstream] slow backend on ${upstream.url}`);
  printUsage(gateway.port, config.token);

  onShutdown(async (signal) => {
    console.log(`[gateway] ${signal}: no new connections; draining transfers for up to ${DRAIN_TIMEOUT / 1000} s`);
    const { server } = gateway;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Queued and new proxied requests now get 503; running transfers finish or are cut at the deadline.
    await proxy.close({ timeout: DRAIN_TIMEOUT });
    server.closeAllConnections();
    await closed;
    // The upstream goes last: the drained transfers were still reading from it.
    await upstream.close();
  });
}

main().catch((err: unknown) => {
  console.error(`[gateway] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
