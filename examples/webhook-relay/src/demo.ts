/**
 * Sends 200 webhooks (and 5 without the token) to the app, waits until the flaky receiver has
 * accepted every one of them, and prints the counts. Bounded: gives up after 90 s.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { TOKEN, startApp } from './app';
import { flakyReceiver } from './receiver';

const WEBHOOKS = 200;
const LIMIT = 90_000;

function post(url: string, body: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-relay-'));
  const receiver = await flakyReceiver();
  const counts = { retried: 0, delivered: 0, dead: 0 };
  const app = await startApp(receiver.url, dir, (e) => {
    if (e.type === 'retried') counts.retried++;
    if (e.type === 'delivered') counts.delivered++;
    if (e.type === 'deadLettered') counts.dead++;
  });
  console.log(`app on ${app.url} (embedded queue in ${dir}), flaky receiver on ${receiver.url}`);

  const ids: string[] = [];
  let refused = 0;
  for (let i = 0; i < 5; i++) if ((await post(`${app.url}/webhooks/github`, '{}')).status === 401) refused++;
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      for (let i = lane; i < WEBHOOKS; i += 8) {
        const reply = await post(`${app.url}/webhooks/${i % 2 ? 'github' : 'stripe'}`, JSON.stringify({ event: i }), TOKEN);
        if (reply.status === 202) ids.push((JSON.parse(reply.body) as { id: string }).id);
      }
    }),
  );
  console.log(`sent ${WEBHOOKS} webhooks: ${ids.length} answered 202 in ${Date.now() - started} ms; ${refused} of 5 without the token answered 401`);

  while (!ids.every((id) => receiver.tally.accepted.has(id)) && Date.now() - started < LIMIT) await new Promise((r) => setTimeout(r, 100));
  const missing = ids.filter((id) => !receiver.tally.accepted.has(id)).length;
  const duplicates = [...receiver.tally.accepted.values()].reduce((sum, n) => sum + n - 1, 0);
  const { tally } = receiver;
  console.log(
    [
      `receiver: ${tally.requests} requests, ${tally.failed} answered 503, ${tally.hung} left hanging, ${tally.accepted.size} distinct webhooks accepted`,
      `queue: ${counts.delivered} delivered, ${counts.retried} retries, ${counts.dead} dead letters`,
      `every webhook arrived: ${missing === 0 ? 'yes' : `NO, ${missing} missing`} (${duplicates} duplicates, which the receiver can drop by Idempotency-Key), ${Date.now() - started} ms`,
    ].join('\n'),
  );
  await app.close();
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(missing === 0 ? 0 : 1);
}

void main();
