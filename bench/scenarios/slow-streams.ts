/**
 * RSS per concurrent slow stream: a fresh contender, its idle RSS, then N
 * concurrent large responses that the client stops reading, the contender's
 * RSS while they are all open, and its RSS once they are gone.
 */
import http from 'node:http';
import type { Settings } from '../config';
import { firstMessage, startNode, stop, type Child } from '../lib/children';
import { usage } from '../lib/proc-stats';
import type { ContenderSpec } from '../contenders/list';
import { startContender, type Target } from '../contenders/start';
import { LARGE_PATH, SMALL_PATH } from '../origin/files';
import type { Origin } from '../origin/start';

export interface StreamsResult extends Wave {
  streams: number;
  idleRss: number;
  perStreamBytes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A few requests so that the idle RSS includes the code every request path loads. */
export async function warm(url: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get(url + SMALL_PATH, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }
}

export async function slowStreams(
  spec: ContenderSpec,
  origin: Origin,
  nginx: string | null,
  settings: Settings,
): Promise<StreamsResult> {
  const target = await startContender(spec, origin, nginx, 'streams');
  const client = startNode('slow-stream client', 'load/slow-streams.ts');
  try {
    await firstMessage(client);
    await warm(target.url);
    await sleep(200);
    const idleRss = usage(target.child.pid).rss;
    const wave = await streamWave(target, client, settings);
    return { streams: settings.streams.count, idleRss, ...wave, perStreamBytes: wave.opened > 0 ? (wave.heldRss - idleRss) / wave.opened : NaN };
  } finally {
    await Promise.all([stop(client), stop(target.child)]);
  }
}

export interface Wave {
  opened: number;
  failed: number;
  /** streams the contender closed while they were meant to stay open */
  lost: number;
  /** the highest RSS while they were open */
  heldRss: number;
  /** RSS a while after the streams ended, as the process left it */
  afterRss: number;
  /** the same after a forced full GC (Node contenders; nginx: same as afterRss) */
  afterGcRss: number;
  /** V8's heap in use after the forced GC (Node contenders only) */
  afterGcHeap?: number;
  openMs: number;
}

/**
 * One wave against a running contender: the slow-stream client opens
 * `settings.streams.count` stalled streams, holds them (RSS: the highest seen), closes
 * them all, then RSS as the contender left it and after a full GC forced over IPC.
 */
export async function streamWave(target: Target, client: Child, settings: Settings): Promise<Wave> {
  const { count, openWindow, openTimeoutMs, settleMs, afterMs } = settings.streams;
  const port = Number(new URL(target.url).port);
  const opening = firstMessage<{ opened: number; failed: number; ms: number }>(client, openTimeoutMs + 10_000);
  client.process.send({ port, path: LARGE_PATH, count, window: openWindow, timeoutMs: openTimeoutMs });
  const { opened, failed, ms } = await opening;

  // Hold them open a while; the RSS is the highest seen meanwhile.
  let heldRss = usage(target.child.pid).rss;
  for (let waited = 0; waited < settleMs; waited += 100) {
    await sleep(100);
    heldRss = Math.max(heldRss, usage(target.child.pid).rss);
  }

  const closing = firstMessage<{ lost: number }>(client);
  client.process.send('close');
  const { lost } = await closing;
  await sleep(afterMs);
  const afterRss = usage(target.child.pid).rss;
  let afterGcRss = afterRss;
  let afterGcHeap: number | undefined;
  if (target.child.process.channel) {
    const collected = firstMessage<{ heapUsed?: number }>(target.child);
    target.child.process.send('gc');
    afterGcHeap = (await collected).heapUsed;
    await sleep(200);
    afterGcRss = usage(target.child.pid).rss;
  }
  return { opened, failed, lost, heldRss, afterRss, afterGcRss, afterGcHeap, openMs: ms };
}
