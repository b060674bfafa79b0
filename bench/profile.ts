/**
 * The profiles behind the README's account of the targets handoff misses (issue #4):
 *   cpu: a V8 CPU profile of each contender relaying the 64 MiB body to wrk (4 connections,
 *        5 s), as self time per function — where a large-body transfer spends its time;
 *   small: the same for 1 KiB bodies at full load (50 connections, 5 s), grouped by where the
 *        time goes (socket writes, Node's HTTP server, undici, Koa, the contender's own code) —
 *        what is left to win per request;
 *   gc:  a GC trace of each contender at the latency scenario's fixed rate (1,000 req/s of
 *        1 KiB over 10 connections, 4 s) and at full load (50 connections) — how many
 *        young-generation collections run, how long they stop the process, and how much they
 *        promote;
 *   large after small: 64 MiB bodies through a fresh process, with and without 3 s of the
 *        small-body load first (as in a bench round), twice each, with the mark-compacts V8
 *        runs meanwhile — why the large-body figures swing from round to round;
 *   recovery: V8's optimizing compiler during a latency run that follows large bodies, with and
 *        without 1 s of the small-body load in between (the bench's warm-up before each latency
 *        run) — why that warm-up is there.
 * Needs wrk (apt-get install wrk); uses nginx as the origin when it is installed, like the
 * benchmark. Writes bench/profiles.md. `pnpm --filter handoff-bench profile`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR, WORK_DIR } from './config';
import { CONTENDERS } from './contenders/list';
import { buildChildren, built, sourceRevision } from './lib/build';
import { firstMessage, killAll, start, stop, type Child } from './lib/children';
import { area } from './lib/profile-areas';
import { usage } from './lib/proc-stats';
import { findExecutable, findNginx } from './nginx/start';
import { ensureBodies, LARGE_PATH, SMALL_PATH } from './origin/files';
import { startOrigin } from './origin/start';

const run = promisify(execFile);
const PROFILED = (process.env.PROFILE_ONLY ?? 'handoff-response,handoff-socket,floor,relay,http-proxy').split(',');
const PROFILE_DIR = path.join(WORK_DIR, 'profiles');
/** The sections to run (cpu, small, gc, large, recovery), for a focused look; default all. */
const SECTIONS = new Set((process.env.PROFILE_SECTIONS ?? 'cpu,small,gc,large,recovery').split(','));
const only = (section: string, ids: string[]) => (SECTIONS.has(section) ? ids : []);

interface Wrk {
  requests: number;
  bytes: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
}

async function wrk(binary: string, url: string, connections: number, seconds: number, delayMs?: number): Promise<Wrk> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', path.join(BENCH_DIR, 'load/wrk-report.lua'), url];
  const env = { ...process.env, ...(delayMs ? { WRK_DELAY_MS: String(delayMs) } : {}) };
  const { stdout } = await run(binary, args, { env, timeout: (seconds + 20) * 1000 });
  return JSON.parse(stdout.split('\n').find((l) => l.startsWith('WRK_JSON '))!.slice('WRK_JSON '.length)) as Wrk;
}

/** Starts a compiled contender with extra V8 flags; its stdout is kept whole for the GC trace. */
async function contender(id: string, originUrl: string, flags: string[]): Promise<{ child: Child; url: string; stdout: () => string }> {
  const spec = CONTENDERS.find((c) => c.id === id && c.file);
  if (!spec) throw new Error(`profile: no Node contender '${id}'`);
  const child = start(id, process.execPath, [...flags, built(spec.file!)], {
    ipc: true,
    captureStdout: true,
    env: { ...spec.env, ORIGIN: originUrl, NODE_ENV: 'production' },
  });
  let out = '';
  child.process.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const { port } = await firstMessage<{ port: number }>(child);
  return { child, url: `http://127.0.0.1:${port}`, stdout: () => out };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

type CallFrame = CpuProfile['nodes'][number]['callFrame'];

/** Self time summed per `keyOf(callFrame)`, largest first. */
function selfTimes(profile: CpuProfile, keyOf: (frame: CallFrame) => string): { total: number; rows: [string, number][] } {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byKey = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const time = byNode.get(node.id) ?? 0;
    total += time;
    const key = keyOf(node.callFrame);
    byKey.set(key, (byKey.get(key) ?? 0) + time);
  }
  return { total, rows: [...byKey].sort((a, b) => b[1] - a[1]) };
}

/** A function and where it is, e.g. `execute undici/lib/dispatcher/client-h1.js:320`. */
function functionKey({ functionName, url, lineNumber }: CallFrame): string {
  const where = url ? ` ${url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where}`;
}

async function profiled(id: string, originUrl: string, run: (url: string) => Promise<Wrk>): Promise<{ profile: CpuProfile; r: Wrk }> {
  const dir = path.join(PROFILE_DIR, id);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const c = await contender(id, originUrl, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const r = await run(c.url);
  // Contenders exit when the IPC channel closes, which writes the profile.
  c.child.process.disconnect();
  await c.child.exited;
  const file = fs.readdirSync(dir).find((n) => n.endsWith('.cpuprofile'))!;
  return { profile: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile, r };
}

async function cpuSmall(binary: string, id: string, originUrl: string): Promise<string> {
  const { profile, r } = await profiled(id, originUrl, async (url) => {
    await wrk(binary, url + SMALL_PATH, 50, 2); // warm-up, in the profile too
    return wrk(binary, url + SMALL_PATH, 50, 5);
  });
  const { total, rows: areas } = selfTimes(profile, area);
  const rows = areas.map(([k, t]) => `| ${((100 * t) / total).toFixed(1)}% | ${k} |`);
  const perSecond = r.requests / (r.duration_us / 1e6);
  return [`#### ${id}: ${Math.round(perSecond)} req/s`, '', '| self | where |', '| ---: | --- |', ...rows, ''].join('\n');
}

async function cpu(binary: string, id: string, originUrl: string): Promise<string> {
  const { profile, r } = await profiled(id, originUrl, (url) => wrk(binary, url + LARGE_PATH, 4, 5));
  const { total, rows } = selfTimes(profile, functionKey);
  const mbs = r.bytes / 1e6 / (r.duration_us / 1e6);
  const lines = rows.slice(0, 12).map(([k, t]) => `| ${((100 * t) / total).toFixed(1)}% | \`${k.replace(/\|/g, '\\|')}\` |`);
  return [`#### ${id}: ${Math.round(mbs)} MB/s`, '', '| self | function |', '| ---: | --- |', ...lines, ''].join('\n');
}

/** delayMs: wrk's think time per connection (10 connections × 10 ms ≈ 1,000 req/s); 0 for as fast as it goes. */
async function gc(binary: string, id: string, originUrl: string, connections: number, delayMs: number): Promise<string> {
  const c = await contender(id, originUrl, ['--trace-gc-nvp']);
  await wrk(binary, c.url + SMALL_PATH, connections, 2, delayMs); // warm-up
  const from = c.stdout().length;
  const r = await wrk(binary, c.url + SMALL_PATH, connections, 4, delayMs);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const trace = c.stdout().slice(from);
  await stop(c.child);
  const field = (line: string, name: string) => Number(new RegExp(` ${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  const scavenges = trace.split('\n').filter((l) => / gc=s /.test(l));
  const pauses = scavenges.map((l) => field(l, 'pause'));
  const promoted = scavenges.map((l) => field(l, 'promoted'));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const marks = trace.split('\n').filter((l) => / gc=(ms|mc) /.test(l)).length;
  return (
    `| ${id} | ${r.requests} | ${(r.p50_us / 1000).toFixed(2)} | ${(r.p99_us / 1000).toFixed(2)} | ${scavenges.length} | ` +
    `${(sum(pauses) / (pauses.length || 1)).toFixed(2)} | ${Math.max(0, ...pauses).toFixed(2)} | ` +
    `${Math.round(sum(promoted) / (promoted.length || 1) / 1024)} | ${marks} |`
  );
}

/**
 * 3 s of 64 MiB bodies (4 connections) through a fresh process, after 3 s of the small-body
 * load at full rate when `smallFirst`: MB/s, CPU seconds per GiB and V8's mark-compacts.
 */
async function largeAfterSmall(binary: string, id: string, originUrl: string, smallFirst: boolean): Promise<string> {
  const c = await contender(id, originUrl, ['--trace-gc']);
  if (smallFirst) await wrk(binary, c.url + SMALL_PATH, 50, 3);
  const from = c.stdout().length;
  const before = usage(c.child.pid).cpu;
  const r = await wrk(binary, c.url + LARGE_PATH, 4, 3);
  const cpu = usage(c.child.pid).cpu - before;
  const marks = c.stdout().slice(from).split('\n').filter((l) => l.includes(' Mark-Compact ')).length;
  await stop(c.child);
  return `${Math.round(r.bytes / 1e6 / (r.duration_us / 1e6))} MB/s, ${(cpu / (r.bytes / 1024 ** 3)).toFixed(2)} s/GiB, ${marks}`;
}

/**
 * The latency run (1,000 req/s, 3 s) of a contender warmed on small bodies and then given 2 s of
 * large bodies, as in a bench round; with `warm`, 1 s of the small-body load comes in between.
 * --trace-opt counts the functions V8 optimizes during the measurement, and the time its
 * compiler spends on them (on a helper thread, sharing the two cores with everything else).
 */
async function recovery(binary: string, id: string, originUrl: string, warm: boolean): Promise<string[]> {
  const c = await contender(id, originUrl, ['--trace-opt']);
  await wrk(binary, c.url + SMALL_PATH, 50, 2);
  await wrk(binary, c.url + LARGE_PATH, 4, 2);
  if (warm) await wrk(binary, c.url + SMALL_PATH, 50, 1);
  const from = c.stdout().length;
  const r = await wrk(binary, c.url + SMALL_PATH, 10, 3, 10);
  const trace = c.stdout().slice(from);
  await stop(c.child);
  const optimized = trace.split('\n').filter((l) => l.startsWith('[completed optimizing ')).length;
  // "[completed compiling … - took 0.014, 5.949, 0.069 ms]": prepare, execute (off the main thread), finalize
  const compileMs = [...trace.matchAll(/^\[completed compiling .* - took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/gm)]
    .map((m) => Number(m[1]) + Number(m[2]) + Number(m[3]))
    .reduce((a, b) => a + b, 0);
  return [(r.p99_us / 1000).toFixed(2), String(optimized), compileMs.toFixed(0)];
}

const GC_HEADER = [
  '| contender | requests | p50 ms | p99 ms | scavenges | mean pause ms | max pause ms | promoted KiB per scavenge | mark-compacts |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
].join('\n');

async function main(): Promise<void> {
  const binary = findExecutable('wrk');
  if (!binary) {
    console.error('profile: needs wrk (apt-get install wrk)');
    process.exit(2);
  }
  process.on('exit', killAll);
  fs.mkdirSync(WORK_DIR, { recursive: true });
  ensureBodies();
  const revision = sourceRevision();
  await buildChildren([...new Set(CONTENDERS.flatMap((c) => c.file ?? [])), 'origin/node-origin.ts']);
  const nginx = findNginx();
  const origin = await startOrigin(nginx);
  console.log(`profile: handoff at ${revision}; origin ${origin.kind} ${origin.url}; contenders ${PROFILED.join(', ')}`);
  const sections: string[] = [];
  for (const id of only('cpu', PROFILED)) {
    console.log(`cpu ${id}`);
    sections.push(await cpu(binary, id, origin.url));
  }
  const smallSections: string[] = [];
  for (const id of only('small', PROFILED)) {
    console.log(`cpu ${id} (small bodies)`);
    smallSections.push(await cpuSmall(binary, id, origin.url));
  }
  const gcRows: string[] = [];
  const loadRows: string[] = [];
  for (const id of only('gc', PROFILED)) {
    console.log(`gc  ${id}`);
    gcRows.push(await gc(binary, id, origin.url, 10, 10));
    loadRows.push(await gc(binary, id, origin.url, 50, 0));
  }
  const largeRows: string[] = [];
  for (const id of only('large', PROFILED)) {
    console.log(`large after small ${id}`);
    const cells: string[] = [];
    for (const smallFirst of [false, true]) {
      cells.push([await largeAfterSmall(binary, id, origin.url, smallFirst), await largeAfterSmall(binary, id, origin.url, smallFirst)].join(' · '));
    }
    largeRows.push(`| ${id} | ${cells.join(' | ')} |`);
  }
  const recoveryRows: string[] = [];
  for (const id of only('recovery', PROFILED)) {
    console.log(`recovery ${id}`);
    const cold = await recovery(binary, id, origin.url, false);
    const warm = await recovery(binary, id, origin.url, true);
    recoveryRows.push(`| ${id} | ${cold.join(' | ')} | ${warm.join(' | ')} |`);
  }
  await stop(origin.child);
  const report = [
    '# Profiles (bench/profile.ts)',
    '',
    `Written by \`pnpm --filter handoff-bench profile\` on ${new Date().toISOString()}; handoff at ${revision}; origin: ${origin.kind}. ` +
      'One run, not interleaved: proportions matter here, not absolute figures.',
    '',
    '## CPU: 64 MiB bodies, 4 connections, 5 s',
    '',
    'Self time per function in the contender process. `writeBuffer` is the write(2) to the client socket, `(idle)` the time the',
    'process waited for the origin, the client or the CPU (two cores are shared by origin, wrk and contender).',
    '',
    ...sections,
    '## CPU: 1 KiB bodies, 50 connections, 5 s (after 2 s of warm-up)',
    '',
    'Self time grouped by where it goes. Every contender makes the same system calls per request (a read and a write',
    'on each side; `strace -c` counts about 4.3 per request for handoff and the floor alike), so what a proxy can still',
    'win is its own code: the row for the contender\'s own file is the most that removing all of it would save.',
    '',
    ...smallSections,
    '## GC at 1,000 req/s of 1 KiB (10 connections, 4 s)',
    '',
    GC_HEADER,
    ...gcRows,
    '',
    '## GC at full load, 1 KiB (50 connections, 4 s)',
    '',
    GC_HEADER,
    ...loadRows,
    '',
    '## Large bodies after small ones: V8 marking without pause',
    '',
    '3 s of 64 MiB bodies (4 connections) through a fresh process, twice, each cell "MB/s, CPU s/GiB, mark-compacts during',
    'the 3 s"; on the right, each time after 3 s of 1 KiB bodies at full load, as a bench round runs them. A process that',
    'falls into back-to-back mark-compacts (one every ~50 ms) spends more CPU per GiB and moves fewer bytes.',
    '',
    '| contender | fresh | after 3 s of 1 KiB bodies |',
    '| --- | --- | --- |',
    ...largeRows,
    '',
    '## Latency right after large bodies: V8 optimizing again',
    '',
    'A fresh process, 2 s of 1 KiB bodies at full load, 2 s of 64 MiB bodies (4 connections), then 3 s at 1,000 req/s',
    '(10 connections; wrk\'s p99, not net of the origin\'s); on the right, with 1 s of the full 1 KiB load before the',
    '3 s, as the bench does. `--trace-opt`: functions TurboFan optimized during the 3 s, and its compile time for them.',
    '',
    '| contender | p99 ms | functions optimized | compile ms | p99 ms, after 1 s of 1 KiB load | functions optimized | compile ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...recoveryRows,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(BENCH_DIR, 'profiles.md'), report);
  console.log(report);
  console.log('written: bench/profiles.md');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
