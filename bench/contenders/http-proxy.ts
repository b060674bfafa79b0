// http-proxy on a plain Node server, with a keep-alive agent to the origin as the others have.
import http from 'node:http';
import httpProxy from 'http-proxy';
import { listen, ORIGIN } from './announce';

const proxy = httpProxy.createProxyServer({ target: ORIGIN, agent: new http.Agent({ keepAlive: true }) });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502, { 'content-length': 0 }).end();
  else res.destroy();
});

listen(http.createServer((req, res) => proxy.web(req, res)));
