// A client that stops reading stalls its stream: the proxy then holds the one upstream read
// queued for that client and nothing more (the upstream socket reads only when the parser
// asks). In a file of its own so that no other test's buffers are freed while it measures.
import net from 'node:net';
import { engineGateway } from './helpers/engine-gateway';
import { memoryInUse } from './helpers/memory';
import { MODES } from './helpers/modes';
import { upstream } from './helpers/servers';

const CHUNK = Buffer.alloc(64 * 1024, 7);
const TOTAL = 64 * 1024 * 1024;

/**
 * Opens a GET that reads its first bytes into a scratch buffer and then nothing more, so
 * the client side of the test holds no memory of its own. Resolves once bytes came.
 */
function stalledClient(url: string, scratch: Buffer): Promise<net.Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: Number(port), host: '127.0.0.1', onread: { buffer: scratch, callback: () => false } });
    socket.write('GET /big HTTP/1.1\r\nHost: proxy\r\n\r\n');
    socket.once('error', reject);
    const seen = () => (socket.bytesRead > 0 ? resolve(socket) : setTimeout(seen, 5));
    seen();
  });
}

describe.each(MODES)('stalled streams (%s mode)', (mode) => {
  it('hold at most the one upstream read queued for their client, nothing read ahead', async () => {
    const STREAMS = 32;
    // The origin writes one shared buffer, so the memory that grows is the proxy's.
    const origin = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': TOTAL });
      let sent = 0;
      const pump = () => {
        while (sent < TOTAL) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/big`, { mode }), { concurrency: STREAMS });
    const clients: net.Socket[] = [];
    try {
      const scratch = Buffer.alloc(64 * 1024);
      const before = await memoryInUse();
      for (let i = 0; i < STREAMS; i++) clients.push(await stalledClient(gw.url, scratch));
      // Let every stream fill the socket buffers and stall, then measure what the proxy holds:
      // at least 500 ms, and on a loaded machine until two readings agree (within 5 s).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const heldNow = async () => (await memoryInUse()).arrayBuffers - before.arrayBuffers;
      let held = await heldNow();
      for (const until = Date.now() + 5_000; Date.now() < until; ) {
        const again = await heldNow();
        const settled = Math.abs(again - held) < 64 * 1024;
        held = again;
        if (settled) break;
      }
      // An upstream read is at most 64 KiB: one read per stream plus a little is ~64-73 KiB.
      // Reading ahead while the client stalls held a second read (~128-136 KiB a stream).
      expect(held / STREAMS).toBeLessThan(96 * 1024);
      expect(held).toBeGreaterThan(0);
    } finally {
      for (const client of clients) client.destroy();
      await gw.close();
      await origin.close();
    }
  });
});
