// RELIABILITY F30 for the sidecar process: with its descriptors used up by open connections,
// the connections it cannot accept are closed, and it keeps running and recovers.
import net from 'node:net';
import { request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { startSidecar, type SidecarProcess } from './helpers/sidecar-process';

const FD_LIMIT = 256;
/** More connections than the limit leaves descriptors for, bounded. */
const CONNECTIONS = FD_LIMIT + 64;

describe('sidecar out of file descriptors', () => {
  let backend: Running;
  let sidecar: SidecarProcess;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    backend = await upstream((_req, res) => res.end('ok'));
    sidecar = await startSidecar({ args: ['--backend', backend.url], fdLimit: FD_LIMIT });
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await sidecar?.kill();
    await backend?.close();
  });

  it('closes the connections it cannot accept, survives, and serves again once descriptors are free', async () => {
    expect((await request(sidecar.url)).status).toBe(200);
    const port = Number(new URL(sidecar.url).port);
    let closedBySidecar = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.once('close', () => closedBySidecar++);
      sockets.push(socket);
      await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
    }
    // Each open connection holds one of the sidecar's descriptors; past the limit, libuv
    // accepts and closes (its EMFILE reserve-descriptor trick) instead of failing.
    await until(() => closedBySidecar > 0, 'the sidecar to close a connection', { every: 50 });
    expect(closedBySidecar).toBeGreaterThan(0);
    expect(sidecar.child.exitCode).toBeNull();

    for (const socket of sockets.splice(0)) socket.destroy();
    // The sidecar notices the closes asynchronously: retry until a request gets through, bounded.
    let status = 0;
    const served = async () => (status = await request(sidecar.url).then((reply) => reply.status, () => 0)) === 200;
    await until(served, 'a request to get through');
    expect(status).toBe(200);
    expect(sidecar.child.exitCode).toBeNull();
  }, 60_000);
});
