#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { loadCommand } from './config/load';
import { ConfigError } from './config/values';
import { helpText } from './help';
import { logError, logInfo } from './log';
import { runQueueCommand } from './queue';
import { startSidecar } from './sidecar';
import { startWorker } from './worker-command';

const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

function version(): string {
  // The same relative path holds from src/ (run with tsx) and from dist/ (the built bin).
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Adds where the option an engine error names (`err.option`, a config key) came from. */
function withSource(err: Error & { option?: string }, sources: Record<string, string>): string {
  // The queue names its own options (`lease`); the config keys for them are `queue.*`.
  const source = err.option === undefined ? undefined : (sources[err.option] ?? sources[`queue.${err.option}`]);
  return source ? `${err.message} (${source})` : err.message;
}

async function main(): Promise<void> {
  let command;
  try {
    command = loadCommand(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`handoff: invalid configuration: ${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  if (command.kind === 'help') return void process.stdout.write(helpText(version()));
  if (command.kind === 'version') return void process.stdout.write(`${version()}\n`);

  const { config } = command;
  if (command.kind === 'queue') {
    try {
      await runQueueCommand(config, command.queue);
    } catch (err) {
      process.stderr.write(`handoff: queue ${command.queue.action} failed: ${(err as Error).message}\n`);
      process.exitCode = EXIT_FAILED;
    }
    return;
  }
  let sidecar: { stop(): Promise<void>; stats(): string };
  try {
    if (command.kind === 'worker') {
      const worker = await startWorker(config);
      logInfo(`worker delivering from ${config.queue.database ? 'PostgreSQL' : `the embedded store in ${config.queue.dir}`}`);
      if (worker.metricsUrl) logInfo(`metrics on ${worker.metricsUrl}/metrics, health on ${worker.metricsUrl}/healthz`);
      sidecar = { stop: worker.stop, stats: () => `${worker.queue.inFlight} in-flight deliveries` };
    } else {
      const started = await startSidecar(config);
      logInfo(`listening on ${started.url}, forwarding to ${config.backend.href}`);
      if (started.metricsUrl) logInfo(`metrics on ${started.metricsUrl}/metrics, health on ${started.metricsUrl}/healthz`);
      sidecar = { stop: started.stop, stats: () => `${started.proxy.stats.inFlight} in-flight and ${started.proxy.stats.queued} queued` };
    }
  } catch (err) {
    // The engine validates its options too; anything it refuses is a configuration error.
    const invalid = (err as { code?: string }).code === 'HANDOFF_INVALID_OPTIONS';
    const message = invalid ? withSource(err as Error, command.sources) : (err as Error).message;
    process.stderr.write(`handoff: ${invalid ? 'invalid configuration: ' : 'failed to start: '}${message}\n`);
    process.exitCode = invalid ? EXIT_CONFIG : EXIT_FAILED;
    return;
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logError(`${signal} again: exiting at once`);
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    }
    stopping = true;
    logInfo(`${signal}: draining ${sidecar.stats()} for up to ${config.shutdownTimeout} ms`);
    sidecar.stop().then(
      () => {
        logInfo('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logError(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(EXIT_FAILED);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(`handoff: crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_FAILED);
});
