/**
 * Every process the bench starts goes through here, so that all of them are
 * known and killed on exit or ctrl-c, and so that each gets the open-files
 * limit it needs (5,000 streams need ~10,000 sockets in a proxy).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, WORK_DIR } from '../config';
import { built } from './build';
import { descendants } from './proc-stats';

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** last few KiB of stdout+stderr, for error messages */
  output(): string;
  exited: Promise<number | null>;
}

const live = new Set<Child>();

/** Open files every child is given (see `openFilesFor`). */
let nofile = 20_000;

/** A proxy holding N streams needs N client + N upstream sockets (nginx as origin: + N files), plus slack. */
export function openFilesFor(streams: number): number {
  nofile = Math.max(4096, streams * 3 + 1024);
  return nofile;
}

export function openFiles(): number {
  return nofile;
}

/** Fails with a clear message before anything starts if the hard limit is below what the children need. */
export function checkOpenFiles(): void {
  const hard = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  if (hard !== 'unlimited' && Number(hard) < nofile) {
    throw new Error(
      `bench: the slow-stream run needs ${nofile} open files per process, but the hard limit (ulimit -Hn) is ${hard}. ` +
        'Raise it (e.g. `ulimit -Hn 20000` as root, or LimitNOFILE in a service) or lower BENCH_STREAMS.',
    );
  }
}

export interface StartOptions {
  env?: Record<string, string>;
  ipc?: boolean;
  /** keep stdout for the caller instead of the diagnostic buffer */
  captureStdout?: boolean;
}

/**
 * Starts `command args` through `sh`, which raises `ulimit -n` first and then
 * `exec`s, so the pid is the command's own (its /proc entries are what we read).
 */
export function start(name: string, command: string, args: string[], options: StartOptions = {}): Child {
  const script =
    `ulimit -n ${nofile} 2>/dev/null || { echo "bench: cannot raise the open-files limit to ${nofile} ` +
    `for ${name} (hard limit: $(ulimit -Hn)); raise it (ulimit -Hn) or lower BENCH_STREAMS" >&2; exit 97; }; exec "$@"`;
  const child = spawn('/bin/sh', ['-c', script, 'sh', command, ...args], {
    cwd: BENCH_DIR,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  };
  if (!options.captureStdout) child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const handle: Child = {
    name,
    process: child,
    pid: child.pid!,
    output: () => tail.trim(),
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  live.add(handle);
  void handle.exited.then(() => live.delete(handle));
  return handle;
}

/**
 * Starts a Node child from its compiled form (lib/build.ts), with an IPC channel and
 * `--expose-gc` (contenders collect on request before the "after" RSS reading).
 */
export function startNode(name: string, file: string, env: Record<string, string> = {}): Child {
  return start(name, process.execPath, ['--expose-gc', built(file)], { ipc: true, env: { ...env, NODE_ENV: 'production' } });
}

/** Waits for the child's first IPC message, failing with its output if it exits or takes too long. */
export function firstMessage<T>(child: Child, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no answer from ${child.name} within ${timeoutMs} ms`), timeoutMs);
    const onExit = (code: number | null) => fail(`${child.name} exited (code ${code}) before it was ready`);
    function fail(message: string) {
      cleanup();
      const output = child.output();
      reject(new Error(output ? `${message}:\n${output}` : message));
    }
    function cleanup() {
      clearTimeout(timer);
      child.process.off('exit', onExit);
      child.process.off('message', onMessage);
    }
    function onMessage(message: unknown) {
      cleanup();
      resolve(message as T);
    }
    child.process.once('message', onMessage);
    child.process.once('exit', onExit);
  });
}

/** SIGTERM (nginx: fast shutdown), then SIGKILL for the process and anything it forked. */
export async function stop(child: Child, graceMs = 2000): Promise<void> {
  if (child.process.exitCode != null || child.process.signalCode != null) return;
  const forked = descendants(child.pid);
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
  for (const pid of forked) kill(pid, 'SIGKILL');
}

/** Synchronous, for process exit: kills every child still alive and whatever it forked. */
export function killAll(): void {
  for (const child of live) {
    const forked = descendants(child.pid);
    kill(child.pid, 'SIGTERM');
    for (const pid of forked) kill(pid, 'SIGKILL');
    kill(child.pid, 'SIGKILL');
  }
  live.clear();
}

function kill(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function workPath(...parts: string[]): string {
  return path.join(WORK_DIR, ...parts);
}
