// Checked by `tsc` (pnpm typecheck), never run: proves the ctx.offload augmentation and the option types.
import { Readable } from 'node:stream';
import Koa from 'koa';
import { handoff, offload, type OffloadKind, type OffloadRules, type ProxyOutcome } from '@handoff/koa';

const app = new Koa();
const proxied = handoff();
const rules: OffloadRules = {
  allow: ['https://bucket.s3.example.com'],
  accel: { '/internal/': 'http://files:9000/' },
  sendfileRoots: ['/srv/files'],
  keepHeaders: ['set-cookie'],
  followRedirects: 0,
};
app.use(proxied);
app.use(offload({ ...rules, proxy: proxied.proxy }));
app.use(offload({ allow: (url) => url.hostname.endsWith('.cdn.example'), keepHeaders: (name) => name !== 'vary', proxy: { concurrency: 4 } }));

app.use(async (ctx) => {
  ctx.offload({ url: 'https://bucket.s3.example.com/r.pdf' });
  ctx.offload({ url: new URL('https://bucket.s3.example.com/'), method: 'POST', headers: { 'content-type': 'text/csv' }, body: Readable.from(['a']) });
  ctx.offload({ url: 'https://x/', body: Buffer.from('x') });

  // @ts-expect-error the url is required
  ctx.offload({ method: 'GET' });
  // @ts-expect-error header values are strings
  ctx.offload({ url: 'https://x/', headers: { 'x-n': 5 } });
  // @ts-expect-error bodies are strings, bytes or streams
  ctx.offload({ url: 'https://x/', body: { json: true } });

  const outcome: ProxyOutcome | undefined = ctx.state.handoff?.outcome;
  const kind: OffloadKind | undefined = outcome?.offload;
  const headersMs: number | undefined = outcome?.headersMs;
  void kind;
  void headersMs;
});

// @ts-expect-error keepHeaders is a list of names or a predicate
offload({ keepHeaders: 'set-cookie' });
// @ts-expect-error accel maps prefixes to URL strings
offload({ accel: [['/internal/', 'http://files/']] });
