import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { run } from '../sidecar/helpers/sidecar-process';
import { until } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../..');

export interface Child {
  child: ChildProcess;
  output(): string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  exited: Promise<unknown>;
}

/** `handoff worker` from source, on `schema` of DATABASE_URL, with the given HANDOFF_* settings. */
export async function startWorker(database: string, schema: string, env: Record<string, string> = {}): Promise<Child> {
  const { child, out, exited } = run({
    args: ['worker'],
    env: { HANDOFF_QUEUE_DATABASE: database, HANDOFF_QUEUE_SCHEMA: schema, HANDOFF_METRICS_LISTEN: 'off', ...env },
  });
  const gone = { value: false };
  void exited.then(() => (gone.value = true));
  await until(() => gone.value || out.stdout.includes('worker delivering'), 'a worker process to start', { timeout: 30_000, every: 10 });
  if (gone.value) throw new Error(`the worker exited: ${out.stderr}`);
  return { child, output: () => out.stdout + out.stderr, exited, kill: () => kill(child, exited) };
}

function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  return exited.then(() => undefined);
}

/** The enqueuing gateway (processes/later-gateway.ts); resolves with its port once listening. */
export async function startGateway(env: Record<string, string>): Promise<Child & { port: number }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'processes/later-gateway.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await until(() => /port \d+/.test(output) || child.exitCode !== null, 'the gateway to listen', { timeout: 30_000, every: 10 });
  if (child.exitCode !== null) throw new Error(`the gateway exited: ${output}`);
  return { child, port: Number(/port (\d+)/.exec(output)![1]), output: () => output, exited, kill: () => kill(child, exited) };
}
