// RELIABILITY.md F31: a chunk-extension flood stays bounded.
// undici's parser skips extension bytes without keeping them, so a flood costs the proxy
// nothing but parsing time: memory held mid-flood stays far below the flood's size.
import type net from 'node:net';
import { openResponse, readBody } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { memoryInUse } from '../helpers/memory';
import { until } from '../helpers/wait';
import { scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';

/** Heap and buffer bytes in use. */
async function used(): Promise<number> {
  const { heapUsed, arrayBuffers } = await memoryInUse();
  return heapUsed + arrayBuffers;
}

const FLOOD = 32 * 1024 * 1024;

describe('chunk-extension flood', () => {
  let origin: ScriptedUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  /**
   * 32 MiB of extension bytes on one chunk-size line, in 64 KiB pieces sharing one buffer;
   * then the upstream pauses, flushed, until the test has measured, and sends `rest`.
   */
  function flood(rest: string) {
    let flushed!: () => void;
    let release!: () => void;
    const midFlood = new Promise<void>((resolve) => (flushed = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const steps: Step[] = [{ request: true }, { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n1' }];
    const piece = Buffer.from(`;e=${'x'.repeat(64 * 1024 - 3)}`);
    for (let sent = 0; sent < FLOOD; sent += piece.length) steps.push({ send: piece });
    steps.push(
      {
        run: async (socket: net.Socket) => {
          await until(() => socket.writableLength === 0, 'flood handed to the kernel');
          flushed();
          await released;
        },
      },
      { send: rest },
      { hang: true },
    );
    return { steps, midFlood, release };
  }

  it('is parsed through without being held, and the response is relayed intact', async () => {
    const { steps, midFlood, release } = flood('\r\nx\r\n0\r\n\r\n');
    origin = await scriptedUpstream(steps);
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/x`));
    const before = await used();
    const { res } = await openResponse(gw.url);
    await midFlood;
    // Bytes still in loopback buffers are the kernel's, not the heap's.
    expect((await used()) - before).toBeLessThan(FLOOD / 4);
    release();
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.toString()).toBe('bodyx');
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    await until(() => gw.proxy.stats.inFlight === 0, 'cleanup');
  }, 30_000);

  it('ending in a malformed extension is refused mid-body (the client is cut)', async () => {
    const { steps, release } = flood(';\r\nx\r\n0\r\n\r\n');
    origin = await scriptedUpstream(steps);
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/x`));
    const { res } = await openResponse(gw.url);
    release();
    const { body, complete } = await readBody(res);
    expect(complete).toBe(false);
    expect(body.toString()).toBe('body');
    const { error } = await gw.handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(String((error!.cause as Error).message)).toMatch(/chunk extension/i);
    await until(() => gw.proxy.stats.inFlight === 0 && gw.proxy.stats.upstreamSockets === 0, 'cleanup');
  }, 30_000);
});
