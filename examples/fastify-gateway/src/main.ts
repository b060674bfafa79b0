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
  const app = await createGateway(upstream.url, config.token, DRAIN_TIMEOUT);
  try {
    await app.listen({ port: config.port, host: '127.0.0.1' });
  } catch (err) {
    await Promise.all([app.close(), upstream.close()]);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`Port ${config.port} on 127.0.0.1 is already in use; stop what holds it or pick another, e.g. PORT=3001`);
    }
    throw err;
  }
  console.log(`[upstream] slow backend on ${upstream.url}`);
  printUsage((app.server.address() as { port: number }).port, config.token);

  onShutdown(async (signal) => {
    console.log(`[gateway] ${signal}: no new connections; draining transfers for up to ${DRAIN_TIMEOUT / 1000} s`);
    // The plugin's preClose hook drains the proxy (503 for new calls) before the server closes.
    await app.close();
    await upstream.close();
  });
}

main().catch((err: unknown) => {
  console.error(`[gateway] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
