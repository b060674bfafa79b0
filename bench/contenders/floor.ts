// The floor a developer could write alone: a Koa route streaming undici.stream()
// into ctx.res with ctx.respond = false, hop-by-hop headers dropped. undici aborts the
// upstream request when ctx.res closes early (its stream() watches the writable).
import http from 'node:http';
import Koa from 'koa';
import { Agent, stream } from 'undici';
import { listen, ORIGIN } from './announce';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];
const dispatcher = new Agent();
const app = new Koa();
app.silent = true;

app.use(async (ctx) => {
  ctx.respond = false;
  const res = ctx.res;
  try {
    await stream(`${ORIGIN}${ctx.url}`, { method: 'GET', dispatcher }, ({ statusCode, headers }) => {
      for (const name of HOP_BY_HOP) delete headers[name];
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res;
    });
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-length': 0 }).end();
  }
});

listen(http.createServer(app.callback()));
