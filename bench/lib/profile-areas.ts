/** Where a sample's time goes, for the small-body profile. */
export function area(callFrame: { functionName: string; url: string }): string {
  const { functionName, url } = callFrame;
  if (!url) {
    if (/^write(v|Buffer|\w+String)$/.test(functionName)) return 'socket writes (write/writev system calls)';
    if (functionName === '(idle)') return '(idle: waiting for the origin, the client or a CPU)';
    if (functionName === '(garbage collector)') return 'garbage collector';
    return 'other native (parsers, timers, the event loop)';
  }
  if (url.includes('/undici/') || url.startsWith('wasm://')) return 'undici (its HTTP/1.1 client and wasm parser)';
  if (url.includes('/build/contenders/')) return "the contender's own file (for handoff: its whole engine, bundled)";
  if (/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(express|router|finalhandler|send|serve-static|qs|parseurl|path-to-regexp|content-type|encodeurl|debug|on-finished)\//.test(url)) {
    return 'Express (express, router, path-to-regexp and their dependencies)';
  }
  if (/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(fastify|find-my-way|avvio|light-my-request|pino|@fastify\/[^/]+|fast-json-stringify)\//.test(url)) {
    return 'Fastify (fastify, find-my-way, pino and their dependencies)';
  }
  if (url.includes('node_modules')) return 'other packages (Koa and its dependencies, http-proxy, …)';
  if (url.startsWith('node:')) return "Node's HTTP server, streams, sockets and events";
  return 'other';
}
