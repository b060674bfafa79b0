import http from 'node:http';
import net from 'node:net';

/** Reads `bytes` every `everyMs` ms; resolves with what was read and whether it ended cleanly. */
export function slowRead(res: http.IncomingMessage, bytes: number, everyMs: number): Promise<{ length: number; complete: boolean }> {
  return new Promise((resolve) => {
    let length = 0;
    let settled = false;
    res.pause();
    const timer = setInterval(() => {
      let budget = bytes;
      let chunk: Buffer | null;
      while (budget > 0 && (chunk = res.read() as Buffer | null)) {
        length += chunk.length;
        budget -= chunk.length;
      }
    }, everyMs);
    const done = (complete: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve({ length, complete });
    };
    res.on('end', () => done(res.complete));
    res.on('close', () => done(res.complete && res.readableEnded));
    res.on('error', () => done(false));
  });
}

/**
 * Sends a request head, then the body in `pieces` one every `everyMs` ms (slowloris),
 * and resolves with the raw reply once the server closes or answers.
 */
export function dribble(
  port: number,
  head: string,
  pieces: string[],
  everyMs: number,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let index = 0;
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => {});
    const timer = setInterval(() => {
      if (index < pieces.length && !socket.destroyed) socket.write(pieces[index++]!);
    }, everyMs);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text, closed: true });
    });
    socket.write(head);
  });
}

/** Stages at which a client can walk away. */
export type Stage = 'queued' | 'before-headers' | 'mid-body';

/**
 * Sends a GET and walks away at `stage`: 'queued' and 'before-headers' destroy the
 * request once `reached()` says the proxy has it there (queued, or sent upstream);
 * 'mid-body' destroys it after the first body chunk. Resolves once it is gone.
 */
export function walkAway(url: string, stage: Stage, reached: () => boolean = () => true): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (stage === 'mid-body') res.once('data', () => req.destroy());
      else req.destroy();
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    if (stage === 'mid-body') return;
    const check = () => {
      if (req.destroyed) return;
      if (reached()) req.destroy();
      else setImmediate(check);
    };
    req.on('socket', (socket) => socket.once('connect', check));
  });
}
