// The slow-stream client: opens COUNT concurrent GETs (at most WINDOW waiting for
// their head at once, so that no listen backlog overflows), reads the first chunk
// of each, then stops reading, so each response stalls in the proxy. Driven over IPC,
// one wave after another (memory/waves.ts sends several):
//   parent -> { port, path, count, window, timeoutMs }   child -> { type: 'open', opened, failed, ms }
//   parent -> 'close'                                     child -> { type: 'closed', lost }
import net from 'node:net';

interface Command {
  port: number;
  path: string;
  count: number;
  window: number;
  timeoutMs: number;
}

let sockets: net.Socket[] = [];
let opened = 0;
let failed = 0;
let lost = 0;

function openWave(command: Command) {
  const { port, path, count, window, timeoutMs } = command;
  sockets = [];
  opened = 0;
  failed = 0;
  lost = 0;
  const started = Date.now();
  let launched = 0;
  let waiting = 0;
  let reported = false;
  const deadline = setTimeout(report, timeoutMs);

  function report() {
    if (reported) return;
    reported = true;
    clearTimeout(deadline);
    process.send!({ type: 'open', opened, failed, ms: Date.now() - started });
  }

  function fill() {
    while (waiting < window && launched < count) open();
    if (opened + failed === count) report();
  }

  function open() {
    launched += 1;
    waiting += 1;
    let state: 'waiting' | 'open' | 'failed' = 'waiting';
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    sockets.push(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.once('data', (chunk: Buffer) => {
      // Stop reading: the kernel buffers fill, then the proxy has to hold back.
      socket.pause();
      waiting -= 1;
      if (chunk.toString('latin1', 0, 12) === 'HTTP/1.1 200') {
        state = 'open';
        opened += 1;
      } else {
        state = 'failed';
        failed += 1;
        socket.destroy();
      }
      fill();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (state === 'open') lost += 1;
      if (state !== 'waiting') return;
      state = 'failed';
      waiting -= 1;
      failed += 1;
      fill();
    });
  }

  fill();
}

process.on('message', (message: Command | 'close') => {
  if (message !== 'close') return openWave(message);
  const closing = sockets.map((s) => new Promise((resolve) => (s.destroyed ? resolve(null) : s.once('close', resolve))));
  const lostBefore = lost;
  for (const socket of sockets) socket.destroy();
  void Promise.all(closing).then(() => process.send!({ type: 'closed', lost: lostBefore }));
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
