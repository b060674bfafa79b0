import { createQueue, type HandoffQueue, type QueueEvent, type QueueOptions } from '@handoff/queue';
import type { AsyncRule, SidecarConfig } from './config/keys';
import type { QueueAction } from './config/load';
import { logError, logInfo } from './log';

/** The queue the configuration describes; `deliver` false for a process that only enqueues or administers. */
export function queueFromConfig(config: SidecarConfig, onEvent: (event: QueueEvent) => void, deliver = config.queue.deliver): HandoffQueue {
  const q = config.queue;
  const options: QueueOptions = {
    schema: q.schema,
    deliver,
    concurrency: q.concurrency,
    lease: q.lease,
    pollInterval: q.pollInterval,
    maxAttempts: q.maxAttempts,
    retryBase: q.retryBase,
    retryMax: q.retryMax,
    maxBodySize: q.maxBodySize,
    retryAfter: config.retryAfter,
    connectTimeout: config.connectTimeout,
    headersTimeout: config.headersTimeout,
    bodyTimeout: config.bodyTimeout,
    perTarget: { concurrency: q.targetConcurrency, rate: q.targetRate },
    onEvent,
  };
  if (q.database) options.database = q.database;
  else options.dir = q.dir;
  return createQueue(options);
}

/** Logs what an operator needs to see: outages, dead letters, lost leases. */
export function logQueueEvent(event: QueueEvent): void {
  if (event.type === 'storeDown') logError(`queue store unavailable: ${event.error.message}`);
  else if (event.type === 'storeUp') logInfo('queue store reachable again');
  else if (event.type === 'deadLettered') logError(`job ${event.id} dead-lettered after ${event.attempts} attempts: ${event.status ?? event.error}`);
  else if (event.type === 'fenced') logError(`job ${event.id}: lease lost before its outcome was written; another worker delivers it`);
}

/** The async rule a request falls under, if any. */
export function asyncRule(rules: readonly AsyncRule[], method: string | undefined, path: string): AsyncRule | undefined {
  return rules.find((rule) => rule.method === method && path.startsWith(rule.prefix));
}

/** `handoff queue …`: lists, retries or purges dead letters, printing one line per job and a summary. */
export async function runQueueCommand(config: SidecarConfig, action: QueueAction): Promise<void> {
  const queue = queueFromConfig(config, logQueueEvent, false);
  try {
    await queue.start();
    if (action.action === 'dead-letters') {
      const letters = await queue.deadLetters(1000);
      for (const l of letters) {
        const last = l.lastStatus !== null ? `status ${l.lastStatus}` : (l.lastError ?? 'no answer');
        process.stdout.write(`${l.id}\t${l.method} ${l.url}\t${l.attempts} attempts\t${last}\t${l.failedAt.toISOString()}\n`);
      }
      process.stdout.write(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
    } else {
      const moved = action.action === 'retry' ? await queue.retryDeadLetters(action.ids) : await queue.purgeDeadLetters(action.ids);
      for (const id of moved) process.stdout.write(`${id}\n`);
      const verb = action.action === 'retry' ? 'back in the queue' : 'purged';
      process.stdout.write(`${moved.length} dead letter${moved.length === 1 ? '' : 's'} ${verb}\n`);
      if (action.ids !== 'all' && moved.length < action.ids.length) {
        const missing = action.ids.filter((id) => !moved.includes(id));
        throw new Error(`not dead letters: ${missing.join(', ')}`);
      }
    }
  } finally {
    await queue.close({ timeout: 0 });
  }
}
