import type { Middleware } from 'koa';
import type { ProxyOutcome } from '@handoff/koa';

/**
 * Logs every request when the middleware chain unwinds and, for handed-off
 * ones, again when the transfer ends: the first line comes while the bytes
 * are still flowing, the second from `ctx.state.handoff.done`.
 */
export function logRequests(): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const label = `${ctx.method} ${ctx.url}`;
    try {
      await next();
    } finally {
      const handoff = ctx.state.handoff;
      if (!handoff) {
        log(`${label} -> ${ctx.status} (${elapsed(started)})`);
      } else {
        log(`${label} -> handed off; chain unwound after ${elapsed(started)}, transfer still running`);
        void handoff.done.then((outcome) => log(`${label} -> ${describe(outcome)}`));
      }
    }
  };
}

function describe(outcome: ProxyOutcome): string {
  const text = `transfer done: status ${outcome.status}, ${outcome.bytes} bytes, ${Math.round(outcome.durationMs)} ms`;
  return outcome.error ? `${text}, error ${outcome.error.code}` : text;
}

function elapsed(started: number): string {
  return `${(performance.now() - started).toFixed(1)} ms`;
}

function log(line: string): void {
  console.log(`[gateway] ${new Date().toISOString().slice(11, 23)} ${line}`);
}
