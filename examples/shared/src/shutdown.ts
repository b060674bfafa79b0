/**
 * Runs `stop` once, on the first SIGINT/SIGTERM. Later signals are ignored:
 * under `pnpm … start` → tsx, one Ctrl-C reaches the app several times (the
 * terminal signals the whole process group and tsx relays it again), and the
 * drain has its own deadline anyway.
 */
export function onShutdown(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => console.log('[gateway] stopped'),
      (err: unknown) => {
        console.error('[gateway] shutdown failed:', err);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
