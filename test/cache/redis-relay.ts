import net from 'node:net';
import { listen, type Running } from '../helpers/servers';

export interface RedisRelay extends Running {
  /** Closes every connection and refuses new ones: Redis has gone away. */
  cut(): void;
  /** Keeps connections open but forwards nothing either way: Redis stops answering. */
  hang(): void;
  /** Forwards again. */
  restore(): void;
}

/**
 * A TCP relay between the proxy and the machine's Redis, so a test can take "Redis"
 * away without touching the real server, which other suites and CI share.
 */
export async function redisRelay(redisUrl: string): Promise<RedisRelay> {
  const target = new URL(redisUrl);
  let mode: 'pass' | 'refuse' | 'hang' = 'pass';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    if (mode === 'refuse') return void client.destroy();
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => mode === 'pass' && upstream.write(chunk));
    upstream.on('data', (chunk) => mode === 'pass' && client.write(chunk));
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  const running = await listen(server);
  return Object.assign(running, {
    cut() {
      mode = 'refuse';
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
    },
    hang() {
      mode = 'hang';
    },
    restore() {
      mode = 'pass';
    },
  });
}
