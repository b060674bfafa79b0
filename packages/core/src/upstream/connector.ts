import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

/** undici's connector options; `highWaterMark` reaches net.connect, though undici's types omit it. */
export type ConnectorOptions = buildConnector.BuildOptions & { highWaterMark?: number };

/**
 * undici's connector, with two changes to the sockets it makes.
 *
 * Plain TCP sockets never read ahead of their parser. While a transfer waits for a slow
 * client, the parser is paused, and anything the socket reads meanwhile is held in memory
 * until the client catches up. A Readable reads ahead by design: `read()` starts the next
 * read before it hands out what is buffered, and after every push it reads on until
 * `highWaterMark`. With undici's 64 KiB reads that is one more 64 KiB chunk per stalled
 * stream, beside the chunk already queued for the client. `highWaterMark: 0` stops it too,
 * but then every chunk stops and restarts the read, two epoll_ctl calls per small response
 * (7 % fewer small requests a second, measured). TLS sockets are left alone here: their
 * reads are TLS records, 16 KiB at most.
 *
 * Every socket reads an unsolicited `100 Continue` as the interim response it is
 * (relabelContinue below).
 */
export function upstreamConnector(options: ConnectorOptions): buildConnector.connector {
  const connect = buildConnector(options as buildConnector.BuildOptions);
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      if (!err) {
        relabelContinue(socket as Socket);
        if (opts.protocol === 'http:') readOnlyWhenAsked(socket as Socket);
      }
      callback(err, socket as never);
    });
}

/**
 * A socket reads only when it has nothing buffered, and not while its parser is paused
 * (undici pauses by `unshift`ing the rest of a chunk and resumes by calling `read()`; a
 * pause it shows no other way). A read that was held back starts when the parser next asks
 * for data with nothing buffered.
 */
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

const CR = 13;
const LF = 10;
const DIGIT_ONE = 0x31;
const DIGIT_ZERO = 0x30;
const DIGIT_NINE = 0x39;
/** `HTTP/1.` : the status line up to the minor version digit. */
const VERSION = Buffer.from('HTTP/1.', 'latin1');

/**
 * RFC 9110 §15.2: a client must parse 1xx responses it did not expect. undici 7 destroys
 * the connection on any `100` (client-h1.js, onHeadersComplete: "bad response"), which
 * turned an upstream's unsolicited `100 Continue` before a valid response into a 502 and,
 * counted as a reset, sent a GET twice. handoff never sends `Expect` (undici refuses it),
 * so every 100 it could receive is unsolicited. The status line of each response is read
 * as it arrives, and a `100` is relabelled `109` in place (its last digit): undici takes
 * it for the interim response it is and parses the final one that follows. 109 is
 * unassigned, so a relabelled 100 is never taken for a `103 Early Hints`, which is relayed
 * (upstream/interim.ts drops every other 1xx).
 *
 * Where responses begin is known without parsing them: undici writes one request at a time
 * (its Agent's pipelining is 1) and its request heads are the only latin1 strings it writes
 * that do not start with CR (chunk framing does). From such a write, the next bytes read
 * begin a response; after a 1xx head (status line, fields, an empty line, no body) another
 * one begins; after a final status line nothing more is looked at until the next request.
 * Only the first dozen bytes of a final response are examined, so a pause of the parser
 * (which re-reads bytes it unshifted) never comes while one is being looked at.
 */
function relabelContinue(socket: Socket): void {
  const { read, write } = socket;
  // 'off': not at a response start; 'status': `pos` bytes into a status line; 'interim': in a 1xx head.
  let state: 'off' | 'status' | 'interim' = 'off';
  let pos = 0;
  let interimEnd = 0;
  let continued = false;

  const scan = (chunk: Buffer): void => {
    for (let i = 0; i < chunk.length && state !== 'off'; i++) {
      const byte = chunk[i]!;
      if (state === 'interim') {
        // Looking for CRLF CRLF: `interimEnd` bytes of it matched so far.
        interimEnd = byte === (interimEnd % 2 === 0 ? CR : LF) ? interimEnd + 1 : byte === CR ? 1 : 0;
        if (interimEnd === 4) {
          state = 'status';
          pos = 0;
        }
        continue;
      }
      if (pos < VERSION.length) {
        if (byte !== VERSION[pos]) state = 'off';
      } else if (pos === 9) {
        // The status code's first digit: anything but a 1xx is the final response.
        if (byte !== DIGIT_ONE) state = 'off';
      } else if (pos === 10) {
        continued = byte === DIGIT_ZERO;
      } else if (pos === 11) {
        if (continued && byte === DIGIT_ZERO) chunk[i] = DIGIT_NINE;
        state = 'interim';
        interimEnd = 0;
      }
      pos++;
    }
  };

  socket.read = function (size?: number) {
    const chunk = read.call(this, size) as Buffer | null;
    if (chunk !== null && state !== 'off') scan(chunk);
    return chunk;
  };
  socket.write = function (this: Socket, data: unknown, encoding?: unknown, callback?: unknown) {
    if (typeof data === 'string' && encoding === 'latin1' && data.charCodeAt(0) !== CR) {
      state = 'status';
      pos = 0;
    }
    return (write as (...args: unknown[]) => boolean).call(this, data, encoding, callback);
  } as Socket['write'];
}
