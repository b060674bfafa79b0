import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
/** The CLI run from source, so the demo needs no build; after `pnpm build` it is the `handoff` bin. */
const CLI = path.join(ROOT, 'packages/cli/src/bin.ts');
const TSCONFIG = path.join(ROOT, 'tsconfig.json');

export interface Child {
  process: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Starts `node --import tsx <script> ...args` and resolves once every pattern has appeared on stdout. */
export async function start(script: string, args: string[], ready: RegExp[], limitMs = 30_000): Promise<Child & { match: RegExpExecArray[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + limitMs;
  while (!ready.every((r) => r.test(output))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${path.basename(script)} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    process: child,
    match: ready.map((r) => r.exec(output)!),
    output: () => output,
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function startApp(mode: 'offload' | 'direct', fileBytes: number) {
  process.env.FILE_BYTES = String(fileBytes);
  return start(path.join(__dirname, 'app.ts'), [mode], [/^origin (\S+)/m, /^backend (\S+)/m]);
}

export function startSidecar(backend: string, origin: string) {
  return start(
    CLI,
    ['--backend', backend, '--offload-allow', origin, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'],
    [/listening on (http:\/\/\S+?),/, /metrics on (http:\/\/\S+?)\/metrics/],
  );
}
