#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { loadCommand } from './config/load';
import { ConfigError } from './config/values';
import { helpText } from './help';
import { logError, logInfo } from './log';
import { startSidecar } from './sidecar';

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
  const source = err.option === undefined ? undefined : sources[err.option];
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
  let sidecar;
  try {
    sidecar = await startSidecar(config);
  } catch (err) {
    // The engine validates its options too; anything it refuses is a configuration error.
    const invalid = (err as { code?: string }).code === 'HANDOFF_INVALID_OPTIONS';
    const message = invalid ? withSource(err as Error, command.sources) : (err as Error).message;
    process.stderr.write(`handoff: ${invalid ? 'invalid configuration: ' : 'failed to start: '}${message}\n`);
    process.exitCode = invalid ? EXIT_CONFIG : EXIT_FAILED;
    return;
  }
  logInfo(`listening on ${sidecar.url}, forwarding to ${config.backend.href}`);
  if (sidecar.metricsUrl) logInfo(`metrics on ${sidecar.metricsUrl}/metrics, health on ${sidecar.metricsUrl}/healthz`);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logError(`${signal} again: exiting at once`);
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    }
    stopping = true;
    const { inFlight, queued } = sidecar.proxy.stats;
    logInfo(`${signal}: draining ${inFlight} in-flight and ${queued} queued for up to ${config.shutdownTimeout} ms`);
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
