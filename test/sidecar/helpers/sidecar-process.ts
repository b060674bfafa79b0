import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from '../../helpers/wait';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'packages/cli/src/bin.ts');
/** Starting node with the tsx loader on a loaded 2-core machine can take several seconds. */
const STARTUP_LIMIT = 30_000;

export interface SidecarProcess {
  child: ChildProcess;
  /** http://127.0.0.1:port of the proxy. */
  url: string;
  /** http://127.0.0.1:port of /metrics and /healthz. */
  metricsUrl: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process if it is still running, and waits for it. */
  kill(): Promise<void>;
}

export interface RunOptions {
  args?: string[];
  /** HANDOFF_* variables; every HANDOFF_* of the test runner's own environment is removed first. */
  env?: Record<string, string>;
  /** Runs the process under `ulimit -n <fdLimit>`. */
  fdLimit?: number;
}

/** A temp directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-sidecar-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a config file (the extension decides YAML or JSON) and returns its path. */
export function writeConfig(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Runs the CLI from source as a real process (`node --import tsx`), on the sources of the workspace. */
export function run(options: RunOptions = {}): { child: ChildProcess; out: { stdout: string; stderr: string }; exited: SidecarProcess['exited'] } {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('HANDOFF_')) env[name] = value;
  Object.assign(env, options.env, { TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') });
  const argv = [process.execPath, '--import', 'tsx', BIN, ...(options.args ?? [])];
  const [command, ...args] = options.fdLimit ? ['bash', '-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, ...argv] : argv;
  const child = spawn(command!, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, exited };
}

/** Runs the CLI to completion (for --help, --version and refused configurations). */
export async function runToExit(options: RunOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { out, exited, child } = run(options);
  const closed = new Promise((resolve) => child.once('close', resolve));
  const { code } = await exited;
  await closed;
  return { code, stdout: out.stdout, stderr: out.stderr };
}

/**
 * Starts the sidecar on port 0 (proxy and metrics, unless the options say otherwise)
 * and resolves once it has printed both bound addresses.
 */
export async function startSidecar(options: RunOptions = {}): Promise<SidecarProcess> {
  const { child, out, exited } = run({
    ...options,
    args: ['--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', ...(options.args ?? [])],
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const listening = /listening on (http:\/\/\S+?),/;
  const metrics = /metrics on (http:\/\/\S+?)\/metrics/;
  try {
    await until(() => gone || (listening.test(out.stdout) && metrics.test(out.stdout)), 'the sidecar to print its addresses', {
      timeout: STARTUP_LIMIT,
      every: 5,
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; stdout: ${out.stdout} stderr: ${out.stderr}`);
  }
  if (gone) throw new Error(`the sidecar exited before listening; stderr: ${out.stderr}`);
  return {
    child,
    url: listening.exec(out.stdout)![1]!,
    metricsUrl: metrics.exec(out.stdout)![1]!,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
