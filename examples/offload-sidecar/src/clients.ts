import http from 'node:http';

export interface Download {
  /** Resolves once the request has been written to the socket. */
  sent: Promise<void>;
  /** Set once the first body byte arrived. */
  streaming: boolean;
  bytes: number;
  /** Resolves with the outcome: complete, cut, or aborted by `abort()`. */
  done: Promise<{ complete: boolean; ms: number }>;
  abort(): void;
}

/** A download read as fast as it comes, on its own connection. */
export function download(url: string): Download {
  const started = performance.now();
  let resolveSent!: () => void;
  const state: Download = {
    sent: new Promise((resolve) => (resolveSent = resolve)),
    streaming: false,
    bytes: 0,
    done: undefined as never,
    abort: () => req.destroy(),
  };
  const req = http.get(url, { agent: false });
  req.once('finish', resolveSent);
  state.done = new Promise((resolve) => {
    const finish = (complete: boolean) => resolve({ complete, ms: performance.now() - started });
    req.once('error', () => finish(false));
    req.once('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        state.streaming = true;
        state.bytes += chunk.length;
      });
      res.once('end', () => finish(res.complete && res.statusCode === 200));
      res.once('error', () => finish(false));
      res.once('aborted', () => finish(false));
    });
  });
  return state;
}

/** GET `url`, resolving with the time to a complete answer, or undefined after `limitMs`. */
export function timedGet(url: string, limitMs: number): Promise<{ ms: number; status: number; body: string } | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: limitMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ ms: performance.now() - started, status: res.statusCode!, body }));
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.once('error', () => resolve(undefined));
  });
}
