import http from 'node:http';
import { logError } from './log';
import type { SidecarMetrics } from './metrics';

/**
 * The metrics listener: GET /metrics (Prometheus text) and GET /healthz, 200 while
 * serving and 503 once draining, so a load balancer stops sending traffic.
 */
export function createAdminServer(metrics: Pick<SidecarMetrics, 'text' | 'contentType'>, draining: () => boolean): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('405 Method Not Allowed\n');
    } else if (path === '/healthz') {
      const ok = !draining();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(ok ? 'ok\n' : 'draining\n');
    } else if (path === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
        (err: unknown) => {
          logError(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}`);
          res.writeHead(500, { 'content-type': 'text/plain' }).end('500 Internal Server Error\n');
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 Not Found: try /metrics or /healthz\n');
    }
  });
}
