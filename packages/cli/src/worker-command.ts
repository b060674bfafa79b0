import { Registry, collectDefaultMetrics } from 'prom-client';
import type { HandoffQueue } from '@handoff/queue';
import { createAdminServer } from './admin';
import type { SidecarConfig } from './config/keys';
import { closeServer, listen } from './listen';
import { logQueueEvent, queueFromConfig } from './queue';
import { QueueMetrics } from './queue-metrics';

export interface WorkerProcess {
  readonly queue: HandoffQueue;
  readonly metricsUrl: string | undefined;
  /** Stops claiming, lets deliveries finish until shutdownTimeout, gives the rest back, closes the store. */
  stop(): Promise<void>;
}

/** `handoff worker`: delivery workers on the configured queue, and /metrics, /healthz on metricsListen. */
export async function startWorker(config: SidecarConfig): Promise<WorkerProcess> {
  const registry = new Registry();
  let metrics: QueueMetrics | undefined;
  const queue = queueFromConfig(
    config,
    (event) => {
      logQueueEvent(event);
      metrics?.record(event);
    },
    true,
  );
  metrics = new QueueMetrics(registry, () => queue);
  collectDefaultMetrics({ register: registry });
  await queue.start();
  let draining = false;
  const admin = createAdminServer({ text: () => registry.metrics(), contentType: registry.contentType }, () => draining);
  let metricsUrl: string | undefined;
  try {
    if (config.metricsListen) metricsUrl = await listen(admin, config.metricsListen, 'metrics');
  } catch (err) {
    await queue.close({ timeout: 0 });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    queue,
    metricsUrl,
    stop: () =>
      (stopped ??= (async () => {
        draining = true;
        await queue.close({ timeout: config.shutdownTimeout });
        admin.closeAllConnections();
        await closeServer(admin);
      })()),
  };
}
