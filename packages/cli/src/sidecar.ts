import http from 'node:http';
import {
  ProxyError,
  createProxy,
  expectContinue,
  isProxyError,
  refuse,
  validateOffloadRules,
  type HandoffProxy,
  type OffloadKind,
  type OffloadRules,
  type ProxyOutcome,
} from '@handoff/core';
import type { SidecarConfig } from './config/keys';
import { backendTarget } from './forward';
import { createAdminServer } from './admin';
import { closeServer, listen } from './listen';
import { logError, pathOf } from './log';
import { SidecarMetrics } from './metrics';
import { asyncRule, logQueueEvent, queueFromConfig } from './queue';
import { QueueMetrics } from './queue-metrics';
import { UploadRoutes, stripUploadHeaders } from './uploads/handler';

export interface Sidecar {
  /** `http://host:port` the proxy is bound to. */
  readonly url: string;
  /** `http://host:port` of /metrics and /healthz, if enabled. */
  readonly metricsUrl: string | undefined;
  readonly proxy: HandoffProxy;
  /**
   * Stops accepting, lets in-flight transfers finish until shutdownTimeout, aborts
   * the rest and closes both listeners. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

const OFFLOAD_KINDS: readonly OffloadKind[] = ['url', 'accel', 'sendfile'];

/** How long the sidecar waits for its Redis cache store before it listens anyway. */
const READY_TIMEOUT = 5_000;

/** Starts the proxy and metrics listeners; rejects (with both closed) if either cannot listen. */
export async function startSidecar(config: SidecarConfig): Promise<Sidecar> {
  // One rules object for every call: the engine resolves it once (roots realpath'd) and
  // caches the result per object. Resolving it here makes bad rules a startup error.
  const offload: OffloadRules = {
    allow: config.offload.allow,
    accel: config.offload.accel,
    sendfileRoots: config.offload.sendfileRoots,
    followRedirects: config.offload.followRedirects,
    keepHeaders: config.offload.keepHeaders,
  };
  validateOffloadRules(offload);
  // The queue exists only with async rules; its events feed the metrics made below.
  let queueMetrics: QueueMetrics | undefined;
  const queue =
    config.async.length > 0
      ? queueFromConfig(config, (event) => {
          logQueueEvent(event);
          queueMetrics?.record(event);
        })
      : undefined;
  await queue?.start();
  const proxy = createProxy({
    queue,
    concurrency: config.concurrency,
    maxQueue: config.maxQueue,
    queueTimeout: config.queueTimeout,
    connectTimeout: config.connectTimeout,
    headersTimeout: config.headersTimeout,
    bodyTimeout: config.bodyTimeout,
    maxBodySize: config.maxBodySize,
    rateLimit: config.rateLimit,
    retryAfter: config.retryAfter,
    xForwarded: config.xForwarded,
    ...(config.gate.redis
      ? {
          gate: {
            redis: config.gate.redis,
            key: config.gate.key,
            leaseTtl: config.gate.leaseTtl,
            whenDown: config.gate.whenDown,
            onError: (err: ProxyError) => logError(err.message),
          },
        }
      : {}),
  });
  const uploads = new UploadRoutes(config, proxy, offload);
  const metrics = new SidecarMetrics(() => proxy.stats, OFFLOAD_KINDS);
  if (queue) queueMetrics = new QueueMetrics(metrics.registry, () => queue);
  let draining = false;

  const onOutcome = (req: http.IncomingMessage, outcome: ProxyOutcome): void => {
    metrics.record(outcome);
    const { error } = outcome;
    if (error) logError(`${req.method} ${pathOf(req.url)} ${outcome.status || '-'} ${error.code}: ${error.message}`);
  };

  // requestTimeout 0: Node's default (300 s for the whole request) would cut long uploads;
  // a stalled upload is bounded by bodyTimeout between chunks instead, slow headers by
  // Node's headersTimeout (60 s).
  const server = http.createServer({ requestTimeout: 0 }, forward);
  // RELIABILITY B14: 100 Continue only once the engine reads the body; one declared over
  // maxBodySize gets its 413 straight away (the engine checks the declared length first).
  server.on('checkContinue', expectContinue(forward));

  function refused(req: http.IncomingMessage, res: http.ServerResponse, err: ProxyError, close = false): void {
    metrics.refused(err.status, err.code);
    logError(`${req.method} ${pathOf(req.url)} ${err.status} ${err.code}: ${err.message}`);
    refuse(req, res, err, { retryAfter: config.retryAfter, close });
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = backendTarget(config.backend, req.url);
    if (!target) {
      const message = "only origin-form targets (visible ASCII, no '#') that stay under the backend's path are forwarded";
      return refused(req, res, new ProxyError('HANDOFF_BAD_REQUEST_TARGET', message), true);
    }
    stripUploadHeaders(req);
    if (uploads.matches(req)) {
      void uploads.handle(req, res, target, refused).then((handle) => handle?.done.then((outcome) => onOutcome(req, outcome)));
      return;
    }
    if (asyncRule(config.async, req.method, req.url!)) return later(req, res, target.origin, target.path);
    let handle;
    try {
      // Every client field goes to the backend (it is the application): the engine still
      // drops hop-by-hop, proxy and instruction fields, and sets its own X-Forwarded-*.
      handle = proxy.fetch(req, res, target.origin, { method: req.method, path: target.path, forwardHeaders: 'all', body: 'request', offload });
    } catch (err) {
      // Only arguments the engine refuses end up here; nothing has been written yet.
      return refused(req, res, isProxyError(err) ? err : new ProxyError('HANDOFF_INVALID_OPTIONS', String(err), { cause: err }));
    }
    void handle.done.then((outcome) => onOutcome(req, outcome));
  }

  /** An async rule's request: stored with the same header policy, answered 202 once committed. */
  function later(req: http.IncomingMessage, res: http.ServerResponse, origin: string, path: string): void {
    let answered;
    try {
      answered = proxy.later(req, res, origin, { method: req.method, path, forwardHeaders: 'all' });
    } catch (err) {
      return refused(req, res, isProxyError(err) ? err : new ProxyError('HANDOFF_INVALID_OPTIONS', String(err), { cause: err }));
    }
    void answered.then((outcome) => onOutcome(req, outcome));
  }

  const admin = createAdminServer(metrics, () => draining);

  let url: string;
  let metricsUrl: string | undefined;
  // Join the fleet (the Redis connections the proxy uses) before taking traffic. Redis
  // unreachable is not fatal: each Redis feature says how it runs without it.
  await proxy.ready({ timeout: READY_TIMEOUT }).catch((err: Error) => logError(`${err.message}: starting anyway`));
  try {
    url = await listen(server, config.listen, 'the proxy');
    if (config.metricsListen) metricsUrl = await listen(admin, config.metricsListen, 'metrics');
  } catch (err) {
    await Promise.all([closeServer(server), closeServer(admin), proxy.close({ timeout: 0 }), queue?.close({ timeout: 0 }), uploads.close()]);
    throw err;
  }

  // After listening, a listener 'error' (an accept failing with ENOBUFS, say) is logged, not
  // fatal. EMFILE never gets here: libuv accepts and closes the connection instead.
  for (const [name, listener] of [['proxy', server], ['metrics', admin]] as const) {
    listener.on('error', (err: NodeJS.ErrnoException) => logError(`${name} listener error: ${err.code ?? err.message}`));
  }

  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    draining = true;
    const closed = closeServer(server);
    // Queued and new requests now answer 503; running transfers finish or are cut at the deadline.
    await proxy.close({ timeout: config.shutdownTimeout });
    // RELIABILITY G33: stop claiming; deliveries in flight finish or go back for redelivery.
    await queue?.close({ timeout: config.shutdownTimeout });
    server.closeAllConnections();
    await closed;
    admin.closeAllConnections();
    await Promise.all([closeServer(admin), uploads.close()]);
  };
  return {
    url,
    metricsUrl,
    proxy,
    stop: () => (stopped ??= stop()),
  };
}
