/** Starts the origin every contender proxies to: nginx when it is installed, else the Node server. */
import { firstMessage, startNode, type Child } from '../lib/children';
import { startNginx } from '../nginx/start';
import { WWW_DIR } from './files';

export interface Origin {
  kind: 'nginx' | 'node';
  child: Child;
  port: number;
  url: string;
}

export async function startOrigin(nginx: string | null): Promise<Origin> {
  if (nginx) {
    const { child, port } = await startNginx(nginx, 'origin', { root: WWW_DIR });
    return { kind: 'nginx', child, port, url: `http://127.0.0.1:${port}` };
  }
  const child = startNode('node origin', 'origin/node-origin.ts', { WWW_DIR });
  const { port } = await firstMessage<{ port: number }>(child);
  return { kind: 'node', child, port, url: `http://127.0.0.1:${port}` };
}
