import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { listen, type Running } from './servers';

/** A request as the upstream received it, body read in full. */
export interface SeenRequest {
  method: string;
  /** The request target exactly as sent on the wire. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordingUpstream extends Running {
  /** TCP connections accepted so far (before any TLS handshake). */
  readonly connections: number;
  /** TCP connections still open. */
  readonly open: number;
  /** Requests received, in order. */
  readonly requests: SeenRequest[];
  /** `https://127.0.0.1:port` when serving TLS, else the same as `url`. */
  readonly origin: string;
}

export type Respond = (seen: SeenRequest, res: http.ServerResponse) => void;

/**
 * An upstream on 127.0.0.1 port 0 that records every connection and request, so a
 * test can prove a server was reached with exactly what, or never reached at all.
 * With `tls` it serves https (the handshake failures are counted as connections too).
 */
export async function recordingUpstream(respond: Respond, tls?: https.ServerOptions): Promise<RecordingUpstream> {
  let connections = 0;
  let open = 0;
  const requests: SeenRequest[] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      respond(seen, res);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.on('connection', (socket: net.Socket) => {
    connections++;
    open++;
    socket.once('close', () => open--);
  });
  if (tls) server.on('tlsClientError', () => {});
  const running = await listen(server);
  const origin = tls ? `https://127.0.0.1:${running.port}` : running.url;
  return Object.defineProperties(running as RecordingUpstream, {
    connections: { get: () => connections },
    open: { get: () => open },
    requests: { get: () => requests },
    origin: { value: origin },
  });
}
