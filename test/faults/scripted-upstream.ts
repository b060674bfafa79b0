import net from 'node:net';
import { listen, type Running } from '../helpers/servers';

/** One step of what a scripted upstream does on a connection. */
export type Step =
  | { send: string | Buffer }
  | { wait: number }
  | { request: true }
  | { end: true }
  | { reset: true }
  | { hang: true }
  /** Runs a function with the socket and waits for it (to pause at a point the test controls). */
  | { run: (socket: net.Socket) => unknown };

export interface ScriptedUpstream extends Running {
  /** Connections accepted so far. */
  readonly connections: number;
  /** Raw request heads received, in order. */
  readonly requests: string[];
}

/**
 * A raw TCP upstream that replays exact bytes, pauses, and closes or resets,
 * so malformed and truncated responses can be produced precisely.
 * `script` gives the steps for the n-th connection (0-based).
 */
export async function scriptedUpstream(script: Step[] | ((connection: number) => Step[])): Promise<ScriptedUpstream> {
  let connections = 0;
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    const steps = typeof script === 'function' ? script(connections) : script;
    connections++;
    socket.on('error', () => {});
    let buffered = '';
    let wanted: (() => void) | undefined;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end !== -1) {
        requests.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 4);
        wanted?.();
      }
    });
    const nextRequest = (seen: number) =>
      new Promise<void>((resolve) => {
        if (requests.length > seen) return resolve();
        wanted = () => {
          wanted = undefined;
          resolve();
        };
      });
    void (async () => {
      for (const step of steps) {
        if (socket.destroyed) return;
        if ('send' in step) socket.write(step.send);
        else if ('wait' in step) await new Promise((resolve) => setTimeout(resolve, step.wait));
        else if ('request' in step) await nextRequest(requests.length);
        else if ('end' in step) return void socket.end();
        else if ('reset' in step) return void socket.resetAndDestroy();
        else if ('hang' in step) return;
        else if ('run' in step) await step.run(socket);
      }
    })();
  });
  const running = await listen(server);
  return Object.defineProperties(running as ScriptedUpstream, {
    connections: { get: () => connections },
    requests: { get: () => requests },
  });
}

/** A complete response with a Content-Length, as raw bytes. */
export function response(status: string, headers: string[], body = ''): string {
  return `HTTP/1.1 ${status}\r\n${[...headers, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`;
}
