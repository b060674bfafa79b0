// The Express floor a developer could write alone: a route streaming undici.stream()
// into res, hop-by-hop headers dropped (as contenders/floor.ts does for Koa).
import http from 'node:http';
import express from 'express';
import { Agent, stream } from 'undici';
import { listen, ORIGIN } from './announce';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];
const dispatcher = new Agent();
const app = express();

app.use(async (req, res) => {
  try {
    await stream(`${ORIGIN}${req.url}`, { method: 'GET', dispatcher }, ({ statusCode, headers }) => {
      for (const name of HOP_BY_HOP) delete headers[name];
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res;
    });
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-length': 0 }).end();
  }
});

listen(http.createServer(app));
