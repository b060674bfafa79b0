/** Starts one contender in its own process, proxying to the origin, and says where it listens. */
import { firstMessage, startNode, type Child } from '../lib/children';
import { startNginx } from '../nginx/start';
import type { Origin } from '../origin/start';
import type { ContenderSpec } from './list';

export interface Target {
  id: string;
  label: string;
  /** the process to measure (nginx: the master, whose workers are added in) */
  child: Child;
  url: string;
}

/** `instance` tells apart two copies alive at once (nginx: its prefix directory). */
export async function startContender(spec: ContenderSpec, origin: Origin, nginx: string | null, instance = 'main'): Promise<Target> {
  if (spec.nginx) {
    if (!nginx) throw new Error('the nginx contender needs nginx');
    const { child, port } = await startNginx(nginx, `proxy-${instance}`, { upstreamPort: origin.port });
    return { id: spec.id, label: spec.label, child, url: `http://127.0.0.1:${port}` };
  }
  const child = startNode(spec.id, spec.file!, { ...spec.env, ORIGIN: origin.url });
  const { port } = await firstMessage<{ port: number }>(child);
  return { id: spec.id, label: spec.label, child, url: `http://127.0.0.1:${port}` };
}
