import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

/** undici's connector options; `highWaterMark` reaches net.connect, though undici's types omit it. */
export type ConnectorOptions = buildConnector.BuildOptions & { highWaterMark?: number };

/**
 * undici's connector, with plain TCP upstream sockets that never read ahead of their parser.
 *
 * While a transfer waits for a slow client, the parser is paused, and anything the socket
 * reads meanwhile is held in memory until the client catches up. A Readable reads ahead by
 * design: `read()` starts the next read before it hands out what is buffered, and after
 * every push it reads on until `highWaterMark`. With undici's 64 KiB reads that is one more
 * 64 KiB chunk per stalled stream, beside the chunk already queued for the client.
 * `highWaterMark: 0` stops it too, but then every chunk stops and restarts the read, two
 * epoll_ctl calls per small response (7 % fewer small requests a second, measured).
 *
 * So a socket reads only when it has nothing buffered, and not while its parser is paused
 * (undici pauses by `unshift`ing the rest of a chunk and resumes by calling `read()`; a
 * pause it shows no other way). A read that was held back starts when the parser next asks
 * for data with nothing buffered. TLS sockets are left alone: their reads are TLS records,
 * 16 KiB at most.
 */
export function upstreamConnector(options: ConnectorOptions): buildConnector.connector {
  const connect = buildConnector(options as buildConnector.BuildOptions);
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      if (!err && opts.protocol === 'http:') readOnlyWhenAsked(socket as Socket);
      callback(err, socket as never);
    });
}

function readOnlyWhenAsked(socket: Socket): void {
  const { read, _read: startRead, unshift } = socket;
  let parserPaused = false;
  let heldBack = false;

  socket._read = function (size) {
    if (parserPaused || this.readableLength > 0) {
      // The Readable now counts a read in progress, and calls _read again only after a
      // push: read() below starts it once there is room.
      heldBack = true;
      return;
    }
    startRead.call(this, size);
  };
  socket.read = function (size?: number) {
    // read(0) is the Readable topping itself up; read() is the parser asking for data.
    if (size === undefined) {
      parserPaused = false;
      if (heldBack && this.readableLength === 0) {
        heldBack = false;
        startRead.call(this, this.readableHighWaterMark);
      }
    }
    return read.call(this, size);
  };
  socket.unshift = function (chunk, encoding) {
    parserPaused = true;
    return unshift.call(this, chunk, encoding);
  };
}
