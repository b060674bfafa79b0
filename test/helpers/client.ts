import http from 'node:http';
import net from 'node:net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  /** One body (sent with its Content-Length), or parts written one by one (sent chunked). */
  body?: string | Buffer | (string | Buffer)[];
  agent?: http.Agent | false;
  /** Called with every 1xx the client receives before the final response. */
  onInformation?: (info: http.InformationEvent) => void;
  /** Rejects once the connection is silent this long before the response is complete (a framing bug hangs otherwise). */
  timeout?: number;
}

/** One request with node:http (no keep-alive unless an agent is given); rejects if the body is cut. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url + (options.path ?? ''),
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    if (options.onInformation) req.on('information', options.onInformation);
    if (options.timeout !== undefined) {
      const ms = options.timeout;
      req.setTimeout(ms, () => req.destroy(new Error(`no complete response within ${ms} ms of silence`)));
    }
    if (Array.isArray(options.body)) {
      for (const part of options.body) req.write(part);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** Sends raw bytes and collects everything until the server closes; `cleanEnd` tells FIN from RST. */
export function rawRequest(port: number, bytes: string): Promise<{ text: string; cleanEnd: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let cleanEnd = false;
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => (cleanEnd = true));
    socket.on('error', () => (cleanEnd = false));
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), cleanEnd }));
    socket.write(bytes);
  });
}

/** Starts a GET and hands back the response as soon as its head arrives, body unread. */
export function openResponse(url: string, headers?: http.OutgoingHttpHeaders): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, (res) => resolve({ res, req }));
    req.on('error', reject);
  });
}

/** Reads the whole body of `res`; resolves with the bytes and whether it ended cleanly. */
export function readBody(res: http.IncomingMessage): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (complete: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ body: Buffer.concat(chunks), complete });
    };
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(res.complete));
    res.on('error', () => done(false));
    res.on('aborted', () => done(false));
    res.on('close', () => done(res.complete && res.readableEnded));
  });
}
