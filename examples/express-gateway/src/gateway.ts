import { timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { handoff, type HandoffMiddleware, type ProxyOutcome } from '@handoff/express';

/** 2 MiB/s for each download. */
const DOWNLOAD_RATE = 2 * 1024 * 1024;

export interface Gateway {
  app: express.Express;
  /** The handoff middleware, kept for `close()` at shutdown. */
  proxy: HandoffMiddleware;
}

/** The Express app: logging first, then the token check, handoff and the routes. */
export function createGateway(upstream: string, token: string): Gateway {
  const app = express();
  const proxy = handoff({ concurrency: 64, maxQueue: 256, queueTimeout: 5_000 });

  app.use(logRequests());
  app.use(requireToken(token));
  app.use(proxy);

  // `return` the call: Express 5 then sends a refusal (a bad URL, a body already read) to the error handler.
  // Header overrides: a CSP the backend does not set, and the backend's host name hidden.
  app.get('/reports/:id', (req, res) =>
    res.proxyFetch(`${upstream}/r/${encodeURIComponent(req.params.id)}`, (head) => {
      head.headers['content-security-policy'] = 'sandbox;';
      delete head.headers['x-internal-host'];
    }),
  );
  app.get('/downloads/big', (_req, res) => res.proxyFetch(`${upstream}/big`, { rateLimit: DOWNLOAD_RATE }));
  // The upload is streamed to the upstream as it arrives: no body parser runs before this route.
  app.post('/uploads', (_req, res) => res.proxyFetch(`${upstream}/upload`, { method: 'POST', body: 'request' }));

  return { app, proxy };
}

/** Answers 401 unless the request carries `Authorization: Bearer <token>`. */
function requireToken(token: string): RequestHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, res, next) => {
    const given = Buffer.from(req.get('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'missing or wrong bearer token' });
      return;
    }
    next();
  };
}

/**
 * Logs every request: a handed-off one when its handler has returned (the bytes still
 * flowing) and again from `res.locals.handoff.done`; the others when they finish.
 */
function logRequests(): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const label = `${req.method} ${req.originalUrl}`;
    res.once('finish', () => {
      if (!res.locals.handoff) log(`${label} -> ${res.statusCode} (${elapsed(started)})`);
    });
    next();
    // Express has no "after the handlers" point: the hand-off resolves within a few ticks of the call.
    setImmediate(() => {
      const handle = res.locals.handoff;
      if (!handle) return;
      log(`${label} -> handed off after ${elapsed(started)}, transfer still running`);
      void handle.done.then((outcome) => log(`${label} -> ${describe(outcome)}`));
    });
  };
}

function describe(outcome: ProxyOutcome): string {
  const text = `transfer done: status ${outcome.status}, ${outcome.bytes} bytes, ${Math.round(outcome.durationMs)} ms`;
  return outcome.error ? `${text}, error ${outcome.error.code}: ${outcome.error.message}` : text;
}

function elapsed(started: number): string {
  return `${(performance.now() - started).toFixed(1)} ms`;
}

function log(line: string): void {
  console.log(`[gateway] ${new Date().toISOString().slice(11, 23)} ${line}`);
}
