import http from 'node:http';
import { openResponse, readBody } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

const CHUNK = Buffer.alloc(64 * 1024, 7);
const TOTAL = 64 * 1024 * 1024;

/** An origin that streams TOTAL bytes, honouring its own backpressure, and reports how far it got. */
async function streamingOrigin(state: { written: number; blocked: boolean; closed: boolean }): Promise<Running> {
  return upstream((_req, res) => {
    res.writeHead(200, { 'content-length': TOTAL });
    res.on('close', () => (state.closed = true));
    const pump = () => {
      while (state.written < TOTAL) {
        state.written += CHUNK.length;
        if (!res.write(CHUNK)) {
          state.blocked = true;
          return res.once('drain', () => {
            state.blocked = false;
            pump();
          });
        }
      }
      res.end();
    };
    pump();
  });
}

describe.each(ADAPTER_MODES)('backpressure (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway;
  let state: { written: number; blocked: boolean; closed: boolean };

  beforeEach(async () => {
    state = { written: 0, blocked: false, closed: false };
    origin = await streamingOrigin(state);
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('a client that does not read stops the upstream read; reading again delivers every byte', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/big`, { mode }));
    const { res } = await openResponse(gw.url);
    res.pause();
    await until(() => state.blocked, 'upstream blocked by backpressure');
    // Nothing to await for "nothing happens": give the pipeline a bounded moment to leak if it would.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only socket buffers sit between origin and client: a few MiB, never the 64 MiB body.
    expect(state.written).toBeLessThan(16 * 1024 * 1024);
    expect(state.blocked).toBe(true);
    res.resume();
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.length).toBe(TOTAL);
  });

  it('writes no empty chunk to the client when the upstream resumes after backpressure', async () => {
    // undici's parser hands over an empty chunk on each resume; relayed, each one was a
    // write to the client (through ServerResponse, a write(2) of 0 bytes).
    let writes = 0;
    let empty = 0;
    gw = await engineGateway(({ req, res, fetch }) => {
      const writer = (mode === 'response' ? res : req.socket) as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean };
      const write = writer.write.bind(writer);
      writer.write = (chunk, ...rest) => {
        writes += 1;
        if ((chunk as { length?: number } | null)?.length === 0) empty += 1;
        return write(chunk, ...rest);
      };
      return fetch(`${origin.url}/big`, { mode });
    });
    const { res } = await openResponse(gw.url);
    res.pause();
    await until(() => state.blocked, 'upstream blocked by backpressure');
    res.resume();
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.length).toBe(TOTAL);
    // The body went through the wrapped writer, in many writes, none of them empty.
    expect(writes).toBeGreaterThan(100);
    expect(empty).toBe(0);
  });

  it('cuts both sides when the client makes no progress for bodyTimeout', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/big`, { mode, bodyTimeout: 200 }));
    const { res } = await openResponse(gw.url);
    res.pause();
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_BODY_TIMEOUT');
    await until(() => state.closed, 'upstream closed');
    res.resume();
    expect((await readBody(res)).complete).toBe(false);
  });
});

describe('body idle timeout on a stalled upstream', () => {
  it.each(ADAPTER_MODES)('cuts the client connection when the upstream stops sending mid-body (%s, %s mode)', async (adapter, mode) => {
    const held: http.ServerResponse[] = [];
    const origin = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial');
      held.push(res);
    });
    const gw = await gatewayFor(adapter)(({ fetch }) => fetch(`${origin.url}/stall`, { mode, bodyTimeout: 150 }));
    try {
      const { res } = await openResponse(gw.url);
      const { body, complete } = await readBody(res);
      expect(complete).toBe(false);
      expect(body.toString()).toBe('partial');
      expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_BODY_TIMEOUT');
    } finally {
      for (const res of held) res.destroy();
      await gw.close();
      await origin.close();
    }
  });
});
