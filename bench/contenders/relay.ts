// The ceiling for a Node process: bytes piped between two TCP sockets, no HTTP parsing.
import net from 'node:net';
import { listen, ORIGIN } from './announce';

const { hostname, port } = new URL(ORIGIN);

// noDelay as Node's http server sets it, so that small responses are not held back by Nagle.
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: hostname, port: Number(port), noDelay: true });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
});
listen(server);
