// A process whose queue's onEvent throws on every 'delivered': it must deliver two jobs one
// after the other and exit 0 (an unhandled rejection would end it with code 1 first).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createQueue } from '@handoff/queue';

async function main(): Promise<void> {
  const warnings: string[] = [];
  process.on('warning', (w) => warnings.push(`${(w as NodeJS.ErrnoException).code}`));
  let delivered = 0;
  const server = http.createServer((req, res) => req.resume().on('end', () => (delivered++, res.end())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-queue-listener-'));
  const queue = createQueue({
    ...(process.env.QUEUE_DATABASE ? { database: process.env.QUEUE_DATABASE, schema: process.env.QUEUE_SCHEMA! } : { dir }),
    pollInterval: 20,
    onEvent: (event) => {
      if (event.type === 'delivered') throw new Error('metrics sink broke');
    },
  });
  await queue.start();
  for (let n = 1; n <= 2; n++) {
    await queue.enqueue({ url: `${target}/job/${n}`, body: 'x' });
    while (delivered < n || queue.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Long enough for a rejection of the last delivery to surface as unhandled.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await queue.close({ timeout: 1_000 });
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`delivered ${delivered}, warnings ${warnings.filter((w) => w === 'HANDOFF_ON_EVENT_THREW').length}\n`);
}

void main();
