import net from 'node:net';
import { listen, type Running } from '../helpers/servers';

export interface RelayFaults {
  /** Delay every upstream-to-client write by this many ms. */
  latency?: number;
  /** Forward upstream bytes in pieces of at most this size (one per event-loop turn). */
  slice?: number;
  /** Stop forwarding (silently, keeping the connection open) after this many response bytes. */
  hangAfter?: number;
  /** Close both sides cleanly after this many response bytes. */
  cutAfter?: number;
  /** Reset both sides after this many response bytes. */
  resetAfter?: number;
}

export interface Relay extends Running {
  /** Response bytes forwarded so far, over all connections. */
  readonly forwarded: number;
  /** Connections currently open through the relay. */
  readonly open: number;
}

/** A TCP relay between proxy and origin that injects latency, slicing, hangs, cuts and resets. */
export async function tcpRelay(targetPort: number, faults: RelayFaults = {}): Promise<Relay> {
  let forwarded = 0;
  let open = 0;
  const server = net.createServer((client) => {
    open++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    let sent = 0;
    let stopped = false;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      open--;
      upstream.destroy();
    });
    upstream.on('close', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (stopped) return;
      let piece = chunk;
      for (const [limit, action] of [
        [faults.hangAfter, 'hang'],
        [faults.cutAfter, 'cut'],
        [faults.resetAfter, 'reset'],
      ] as const) {
        if (limit !== undefined && sent + piece.length >= limit) {
          piece = piece.subarray(0, limit - sent);
          stopped = true;
          forward(piece, () => {
            if (action === 'cut') closeBoth();
            if (action === 'reset') {
              client.resetAndDestroy();
              upstream.destroy();
            }
          });
          return;
        }
      }
      forward(piece);
    });
    const forward = (data: Buffer, then?: () => void) => {
      sent += data.length;
      forwarded += data.length;
      upstream.pause();
      const write = async () => {
        if (faults.latency) await new Promise((resolve) => setTimeout(resolve, faults.latency));
        const size = faults.slice ?? data.length;
        for (let i = 0; i < data.length && !client.destroyed; i += size) {
          client.write(data.subarray(i, i + size));
          if (faults.slice) await new Promise((resolve) => setImmediate(resolve));
        }
        if (!stopped) upstream.resume();
        then?.();
      };
      void write();
    };
  });
  const running = await listen(server);
  return Object.defineProperties(running as Relay, {
    forwarded: { get: () => forwarded },
    open: { get: () => open },
  });
}
