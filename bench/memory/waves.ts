/**
 * Does a proxy's RSS come back after slow streams end? Waves of stalled streams
 * through ONE process of a contender (default: handoff in response mode), the same
 * way `pnpm bench` opens them (scenarios/slow-streams.ts); after each wave, RSS as the
 * process left it, RSS after a forced full GC, and V8's heap in use. A heap that
 * returns to where it was while RSS stays up is memory the allocator kept for reuse,
 * not objects still held; RSS that stays flat from wave to wave is that memory reused.
 *
 * Usage: pnpm --filter handoff-bench waves
 *   WAVES=3 STREAMS=1000 CONTENDER=handoff-response (any id of contenders/list.ts)
 *   MALLOC=32768: run the contender with MALLOC_MMAP_THRESHOLD_=32768, so that glibc
 *   serves buffers of 32 KiB and more from mmap and gives them back when freed.
 */
import os from 'node:os';
import { int, readSettings } from '../config';
import { CONTENDERS } from '../contenders/list';
import { startContender } from '../contenders/start';
import { buildChildren } from '../lib/build';
import { checkOpenFiles, firstMessage, killAll, openFilesFor, startNode, stop } from '../lib/children';
import { usage } from '../lib/proc-stats';
import { findNginx } from '../nginx/start';
import { ensureBodies } from '../origin/files';
import { startOrigin } from '../origin/start';
import { streamWave, warm } from '../scenarios/slow-streams';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const waves = int('WAVES', 3);
  const id = process.env.CONTENDER || 'handoff-response';
  const malloc = process.env.MALLOC ? String(int('MALLOC', 32768)) : null;
  const found = CONTENDERS.find((c) => c.id === id);
  if (!found) throw new Error(`CONTENDER: no contender ${JSON.stringify(id)}; one of ${CONTENDERS.map((c) => c.id).join(', ')}`);
  if (found.nginx && malloc) throw new Error('MALLOC applies to Node contenders only');
  const spec = malloc ? { ...found, env: { ...found.env, MALLOC_MMAP_THRESHOLD_: malloc } } : found;

  const settings = readSettings(false);
  settings.streams.count = int('STREAMS', 1000);
  openFilesFor(settings.streams.count);
  checkOpenFiles();
  const nginx = settings.noNginx ? null : findNginx();
  if (spec.nginx && !nginx) throw new Error('the nginx contender needs nginx');

  ensureBodies();
  await buildChildren([...(spec.file ? [spec.file] : []), 'origin/node-origin.ts', 'load/slow-streams.ts']);
  const origin = await startOrigin(nginx);
  const target = await startContender(spec, origin, nginx, 'waves');
  const client = startNode('slow-stream client', 'load/slow-streams.ts');
  try {
    await firstMessage(client);
    await warm(target.url);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idle = usage(target.child.pid).rss;
    console.log(
      `${spec.label}${malloc ? ` with MALLOC_MMAP_THRESHOLD_=${malloc}` : ''}, origin ${origin.kind}, ` +
        `${waves} waves of ${settings.streams.count} stalled streams; ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
    );
    console.log(`idle RSS ${(idle / MiB).toFixed(1)} MiB\n`);
    console.log('| wave | opened | held RSS MiB | after, as left | after GC | heap after GC MiB |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
    for (let wave = 1; wave <= waves; wave++) {
      const w = await streamWave(target, client, settings);
      if (w.failed || w.lost) console.log(`  (wave ${wave}: ${w.failed} failed to open, ${w.lost} closed by the proxy)`);
      const mib = (bytes: number) => (bytes / MiB).toFixed(1);
      const heap = w.afterGcHeap === undefined ? '–' : mib(w.afterGcHeap);
      console.log(`| ${wave} | ${w.opened} | ${mib(w.heldRss)} | ${mib(w.afterRss)} | ${mib(w.afterGcRss)} | ${heap} |`);
    }
  } finally {
    await Promise.all([stop(client), stop(target.child), stop(origin.child)]);
  }
}

process.on('exit', killAll);
main().catch((err) => {
  console.error((err as Error).message);
  killAll();
  process.exitCode = 1;
});
