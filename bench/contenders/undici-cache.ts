// undici's own cache interceptor used directly: an Agent composed with interceptors.cache()
// (its default in-memory store, shared cache) behind a minimal node:http server, streaming
// each response into the client's response. The reference for handoff's cache-hit figure.
import http from 'node:http';
import { Agent, interceptors, stream } from 'undici';
import { listen, ORIGIN } from './announce';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];
const dispatcher = new Agent().compose(interceptors.cache());

const server = http.createServer(async (req, res) => {
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

listen(server);
