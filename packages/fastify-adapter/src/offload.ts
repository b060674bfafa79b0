import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  hasOffloadInstruction,
  isOffloadHeader,
  stripInstructionHeaders,
  type HandoffProxy,
  type OffloadBody,
  type OffloadRules,
  type ProxyMode,
} from '@handoff/core';
import { logOutcome } from './hand-off';

const kPreset = Symbol('handoff.offload.preset');
type WatchedReply = FastifyReply & { [kPreset]?: string[] };

/**
 * Performs offload instructions handlers answer with: a payload whose headers carry
 * `Offload-Requested`/`Offload-Url`, `X-Accel-Redirect` or `X-Sendfile` is not sent; it is
 * handed to the proxy (its body discarded or forwarded). Headers set before the handler
 * (hooks: CORS, …) stay; those the handler set go to the engine, which keeps what
 * `keepHeaders` allows. Instruction headers a client sends are removed first.
 */
export function installOffload(app: FastifyInstance, proxy: HandoffProxy, rules: OffloadRules, mode: ProxyMode): void {
  app.addHook('onRequest', (request, _reply, done) => {
    stripInstructionHeaders(request.raw);
    done();
  });
  app.addHook('preHandler', (_request, reply: WatchedReply, done) => {
    reply[kPreset] = Object.keys(reply.getHeaders());
    done();
  });
  app.addHook('onSend', (request, reply: WatchedReply, payload, done) => {
    if (reply.raw.headersSent || !hasOffloadInstruction(reply.getHeaders())) return done(null, payload);
    const preset = reply[kPreset] ?? [];
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      reply.removeHeader(name);
      if (value === undefined) continue;
      if (preset.includes(name) && !isOffloadHeader(name)) reply.raw.setHeader(name, value);
      else headers[name] = value;
    }
    let handle;
    try {
      handle = proxy.offload(request.raw, reply.raw, { headers, body: (payload ?? null) as OffloadBody | null }, { offload: rules });
    } catch (err) {
      return done(err as Error);
    }
    reply.hijack();
    void handle.done.then((outcome) => logOutcome(request, outcome, mode));
    // `done` is not called: the transfer owns the response now, and Fastify's send would
    // write the instruction response after it (onSendEnd does not look at the hijack).
  });
}
