/**
 * `pnpm bench`: every contender against the same origin, interleaved (for each
 * round, for each scenario, every contender once, in an order rotated each
 * round), medians over the rounds, written to bench/results.md and results.svg.
 * See bench/README.md for what each figure means.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, flag, readSettings, WORK_DIR, type Settings } from './config';
import { CONTENDERS, DIRECT, DIRECT_LABEL, type ContenderSpec } from './contenders/list';
import { startContender, type Target } from './contenders/start';
import { checkOpenFiles, killAll, openFilesFor, stop } from './lib/children';
import { buildChildren, sourceRevision } from './lib/build';
import { busyShare, fileRefaults, proactiveReclaim } from './lib/machine';
import { Progress } from './lib/progress';
import { autocannonGenerator } from './load/autocannon';
import type { LoadGenerator } from './load/types';
import { wrkGenerator } from './load/wrk';
import { findExecutable, findNginx, nginxVersion } from './nginx/start';
import { ensureBodies } from './origin/files';
import { startOrigin, type Origin } from './origin/start';
import { renderMarkdown } from './report/markdown';
import { summarise, type Measurements, type Run } from './report/summary';
import { renderSvg } from './report/svg';
import { cacheHits } from './scenarios/cache-hit';
import { latency } from './scenarios/latency';
import { largeBody, smallBody } from './scenarios/throughput';
import { slowStreams } from './scenarios/slow-streams';

const SCENARIOS = ['small', 'large', 'latency', 'streams', 'cache'] as const;
/** Node children other than the contenders. */
const HELPERS = ['origin/node-origin.ts', 'load/latency-probe.ts', 'load/slow-streams.ts'];
type Scenario = (typeof SCENARIOS)[number];

function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

interface Bench {
  settings: Settings;
  origin: Origin;
  nginx: string | null;
  load: LoadGenerator;
  progress: Progress;
  record: (id: string, round: number, values: Partial<Measurements>) => void;
}

const wanted = (settings: Settings, scenario: Scenario) => !settings.scenarios || settings.scenarios.includes(scenario);
/** Whether a contender takes part in a scenario (see ContenderSpec.scenarios). */
const runsIn = (spec: ContenderSpec, scenario: Scenario) => (spec.scenarios ? spec.scenarios.includes(scenario) : scenario !== 'cache');

/** Throughput and latency use one process per contender for the whole run, started together, idle when not measured. */
async function startAll(bench: Bench, contenders: ContenderSpec[]): Promise<Target[]> {
  const started = await Promise.allSettled(contenders.map((spec) => startContender(spec, bench.origin, bench.nginx)));
  const targets: Target[] = [];
  for (const [i, result] of started.entries()) {
    if (result.status === 'fulfilled') {
      targets.push(result.value);
      continue;
    }
    const message = (result.reason as Error).message;
    bench.progress.note(`${contenders[i]!.id}: failed to start: ${message}`);
    for (let round = 0; round < bench.settings.rounds; round++) {
      bench.record(contenders[i]!.id, round, { failure: `start: ${message.split('\n')[0]}` });
    }
  }
  return targets;
}

async function runRound(bench: Bench, round: number, contenders: ContenderSpec[], targets: Target[]): Promise<void> {
  const { settings, origin, load, progress, record } = bench;
  const order = rotate(contenders, round);
  const tag = `round ${round + 1}/${settings.rounds}`;
  const byId = new Map(targets.map((t) => [t.id, { id: t.id, url: t.url, pid: t.child.pid }]));
  const among = (scenario: Scenario) => [
    { id: DIRECT, url: origin.url, pid: origin.child.pid },
    ...order.filter((c) => runsIn(c, scenario)).flatMap((c) => byId.get(c.id) ?? []),
  ];
  const attempt = async (id: string, scenario: Scenario, fn: () => Promise<Partial<Measurements>>) => {
    progress.step(`${tag}  ${scenario.padEnd(7)} ${id}`, WEIGHTS[scenario](settings));
    try {
      record(id, round, await fn());
    } catch (err) {
      progress.note(`${id} ${scenario}: ${(err as Error).message}`);
      record(id, round, { failure: `${scenario}: ${(err as Error).message.split('\n')[0]}` });
    }
  };
  if (wanted(settings, 'small')) {
    // Warm-up (JIT, pools) only the first time each process is measured.
    for (const t of among('small')) await attempt(t.id, 'small', async () => ({ small: await smallBody(load, t.url, settings, round === 0) }));
  }
  if (wanted(settings, 'large')) {
    for (const t of among('large')) await attempt(t.id, 'large', async () => ({ large: await largeBody(load, t.url, t.pid, settings) }));
  }
  if (wanted(settings, 'latency')) {
    for (const t of among('latency')) await attempt(t.id, 'latency', async () => ({ latency: await latency(load, t.url, settings) }));
  }
  if (wanted(settings, 'cache')) {
    // The warm-up of the first round stores the response in the caching contenders.
    for (const t of among('cache')) await attempt(t.id, 'cache', async () => ({ cache: await cacheHits(load, t.url, settings, round === 0) }));
  }
  // A fresh process per contender, so that its idle RSS has not been grown by earlier runs.
  if (wanted(settings, 'streams')) {
    for (const spec of order.filter((c) => runsIn(c, 'streams'))) {
      await attempt(spec.id, 'streams', async () => ({ streams: await slowStreams(spec, origin, bench.nginx, settings) }));
    }
  }
}

/** Rough seconds per step, for the progress line's estimate. */
const WEIGHTS: Record<Scenario, (s: Settings) => number> = {
  small: (s) => s.small.seconds + 0.5,
  large: (s) => s.large.seconds + 0.5,
  latency: (s) => s.latency.warmupSeconds + s.latency.seconds + 1,
  streams: (s) => 3 + s.streams.count / 750,
  cache: (s) => s.small.seconds + 0.5,
};

/** Total weight of the run's steps: every scenario but streams also hits the origin directly. */
function totalWeight(contenders: ContenderSpec[], settings: Settings): number {
  const scenarios = SCENARIOS.filter((s) => wanted(settings, s));
  const steps = (s: Scenario) => contenders.filter((c) => runsIn(c, s)).length + (s === 'streams' ? 0 : 1);
  return settings.rounds * scenarios.reduce((n, s) => n + steps(s) * WEIGHTS[s](settings), 0);
}

async function main(): Promise<void> {
  const wrk = flag('BENCH_NO_WRK') ? null : findExecutable('wrk');
  const settings = readSettings(!wrk);
  const deadline = setTimeout(() => {
    console.error(`\nbench: still running after ${settings.deadlineSeconds} s; stopping (BENCH_DEADLINE to change)`);
    killAll();
    process.exit(2);
  }, settings.deadlineSeconds * 1000);
  deadline.unref();

  const nofile = openFilesFor(settings.streams.count);
  checkOpenFiles();
  const nginx = settings.noNginx ? null : findNginx();
  const load = wrk ? wrkGenerator(wrk) : autocannonGenerator();
  const contenders = CONTENDERS.filter((c) => (!c.nginx || nginx) && (settings.only ? settings.only.includes(c.id) : !c.optIn));

  fs.mkdirSync(WORK_DIR, { recursive: true });
  ensureBodies();
  // One snapshot of the sources for the whole run, even if they are edited meanwhile.
  const revision = sourceRevision();
  await buildChildren([...new Set(CONTENDERS.flatMap((c) => c.file ?? [])), ...HELPERS]);
  console.log(`sources:   handoff at ${revision}, compiled into bench/.work/build/`);
  const origin = await startOrigin(nginx);
  const originName = origin.kind === 'nginx' ? `${nginxVersion(nginx!)} (1 worker, sendfile)` : 'Node http server (files held in memory)';
  console.log(`origin:    ${originName} on ${origin.url}${nginx ? '' : '  (nginx not found: no nginx contender)'}`);
  console.log(`load:      ${load.name}${wrk ? '' : '  (wrk not found)'}; latency: ${load.latencyTool}`);
  console.log(`contenders: ${contenders.map((c) => c.id).join(', ')}`);
  console.log(
    `${settings.rounds} round(s); small ${settings.small.connections} conns ${settings.small.seconds} s, ` +
      `large ${settings.large.connections} conns ${settings.large.seconds} s, latency ${settings.latency.rate} req/s ` +
      `${settings.latency.seconds} s (after ${settings.latency.warmupSeconds} s of small), ${settings.streams.count} slow streams; open files per child: ${nofile}`,
  );

  const busy = await busyShare(1000);
  const busyNote = `${Math.round(busy * 100)}% of the CPUs busy with other work just before the run (load average ${os.loadavg()[0]!.toFixed(2)})`;
  console.log(`machine:   ${busyNote}${busy > 0.1 ? ' — figures will be noisy; medians over rounds only partly absorb that' : ''}`);
  const reclaim = proactiveReclaim();
  if (reclaim) console.log('machine:   the kernel pages out cold memory on its own (DAMON); the origin serves from tmpfs, out of its reach');
  const refaultsBefore = fileRefaults();

  const runs = new Map<string, Run>();
  for (const spec of [{ id: DIRECT, label: DIRECT_LABEL }, ...contenders]) runs.set(spec.id, { id: spec.id, label: spec.label, rounds: [] });
  const record = (id: string, round: number, values: Partial<Measurements>) => {
    const run = runs.get(id)!;
    const entry = (run.rounds[round] ??= { failures: [] });
    const { failure, ...rest } = values;
    Object.assign(entry, rest);
    if (failure) entry.failures.push(failure);
  };

  const progress = new Progress(totalWeight(contenders, settings));
  const bench: Bench = { settings, origin, nginx, load, progress, record };
  const started = Date.now();
  const needsTargets = ['small', 'large', 'latency', 'cache'].some((s) => wanted(settings, s as Scenario));
  const targets = needsTargets ? await startAll(bench, contenders) : [];
  try {
    for (let round = 0; round < settings.rounds; round++) await runRound(bench, round, contenders, targets);
  } finally {
    await Promise.all([...targets.map((t) => stop(t.child)), stop(origin.child)]);
  }
  progress.finish();

  const summary = summarise([...runs.values()]);
  const context = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    origin: originName,
    load: load.name,
    latencyTool: load.latencyTool,
    settings,
    seconds: (Date.now() - started) / 1000,
    revision,
    busy:
      `${busyNote}; ${Math.round((await busyShare(1000)) * 100)}% just after` +
      (reclaim ? '; the kernel pages out cold memory on its own (DAMON)' : '') +
      (Number.isFinite(refaultsBefore)
        ? `; ${(fileRefaults() - refaultsBefore).toLocaleString('en-US')} file pages read again after eviction during the run (workingset_refault_file)`
        : ''),
  };
  const markdown = renderMarkdown(summary, context);
  fs.writeFileSync(path.join(BENCH_DIR, 'results.md'), markdown);
  fs.writeFileSync(path.join(BENCH_DIR, 'results.svg'), renderSvg(summary, context));
  fs.writeFileSync(path.join(WORK_DIR, 'raw.json'), JSON.stringify({ context, runs: [...runs.values()] }, null, 2));
  console.log(`\n${markdown}`);
  console.log('written: bench/results.md, bench/results.svg (raw figures: bench/.work/raw.json)');
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', killAll);

main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
