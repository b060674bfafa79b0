import type { IncomingMessage, ServerResponse } from 'node:http';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A `checkContinue` listener: `server.on('checkContinue', expectContinue(app.callback()))`.
 * Without one, Node answers every `Expect: 100-continue` with `100 Continue` before any
 * handler runs, so the client sends a body the app then refuses (413 by its declared size,
 * 401 before auth). With it, `100 Continue` goes out when something first reads the body
 * (the engine streaming it, a body parser), and never after a final answer has begun; a
 * request answered without reading its body never asks the client for it (RELIABILITY B14).
 */
export function expectContinue(listener: Listener): Listener {
  return (req, res) => {
    const read = req._read;
    req._read = function (size) {
      req._read = read;
      if (!res.headersSent && !res.writableEnded) res.writeContinue();
      return read.call(this, size);
    };
    listener(req, res);
  };
}
