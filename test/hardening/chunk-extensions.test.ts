// RELIABILITY.md F31: a chunk-extension flood stays bounded.
import v8 from 'node:v8';
import vm from 'node:vm';
import { openResponse, readBody } from '../helpers/client';
import { recordingRoute } from '../helpers/handles';
import { gateway, until, type Gateway } from '../helpers/servers';
import { scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('chunk-extension flood', () => {
  let origin: ScriptedUpstream;
  let proxy: Gateway;

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it('is refused mid-body (the client is cut) rather than buffered without bound', async () => {
    const flood: Step[] = [{ request: true }, { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n' }];
    // 64 MiB of extension bytes on one chunk-size line, sent in 64 KiB pieces.
    flood.push({ send: '1;' });
    const piece = Buffer.from(`e=${'x'.repeat(64 * 1024 - 3)};`);
    for (let i = 0; i < 1024; i++) flood.push({ send: piece });
    flood.push({ send: '\r\nx\r\n0\r\n\r\n' }, { hang: true });
    origin = await scriptedUpstream(flood);
    const recorded = recordingRoute(`${origin.url}/x`);
    proxy = await gateway(recorded.route);
    const used = () => {
      gc();
      return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    };
    const before = used();
    const { res } = await openResponse(proxy.url);
    const { body, complete } = await readBody(res);
    expect(complete).toBe(false);
    expect(body.toString()).toBe('body');
    const { error } = await recorded.handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(String((error!.cause as Error).message)).toMatch(/extension/i);
    // Bytes queued by the scripted upstream share one buffer; the proxy side holds no copy of the flood.
    expect(used() - before).toBeLessThan(16 * 1024 * 1024);
    await until(() => proxy.handoff.proxy.stats.inFlight === 0 && proxy.handoff.proxy.stats.upstreamSockets === 0, 'cleanup');
  });
});
