/** bench/results.md: the figures, their ratios to the TCP relay and the floor, and the targets. */
import type { Settings } from '../config';
import { DIRECT, FLOOR, RELAY } from '../contenders/list';
import { clock } from '../lib/progress';
import { CACHED_CONTROL } from '../origin/files';
import type { Row } from './summary';
import { checkTargets } from './targets';

export interface ReportContext {
  date: string;
  node: string;
  cpu: string;
  memory: string;
  origin: string;
  load: string;
  latencyTool: string;
  settings: Settings;
  seconds: number;
  /** the commit of the sources measured */
  revision: string;
  /** how busy the machine was with other work around the run */
  busy: string;
}

const fmt = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${fmt(v, 1)}` : '–');
const ratio = (v: number, ref: number) => (Number.isFinite(v / ref) ? `${(v / ref).toFixed(2)}×` : '–');

export function renderMarkdown(rows: Row[], ctx: ReportContext): string {
  const { settings: s } = ctx;
  const relay = rows.find((r) => r.id === RELAY);
  const floor = rows.find((r) => r.id === FLOOR);
  const streams = rows.find((r) => Number.isFinite(r.streams))?.streams ?? s.streams.count;
  const lines: string[] = [];
  const out = (line = '') => lines.push(line);

  out('# handoff benchmark results');
  out();
  out(`Written by \`pnpm bench\` (bench/run.ts) on ${ctx.date}; rerun it rather than editing this file.${s.quick ? ' **BENCH_QUICK smoke run: 1 round, short durations — not for comparison.**' : ''}`);
  out();
  out(`- machine: ${ctx.cpu}, ${ctx.memory}, Node ${ctx.node}; everything on 127.0.0.1; ${ctx.busy}`);
  out(`- handoff: the workspace sources at ${ctx.revision}, compiled once for the run with esbuild (bench/lib/build.ts)`);
  out(`- origin: ${ctx.origin}, serving a 1 KiB and a 64 MiB file`);
  out(`- load: ${ctx.load} (own process); latency: ${ctx.latencyTool}; slow streams: load/slow-streams.ts (own process)`);
  out(`- ${s.rounds} round(s), interleaved (each round runs every scenario for every contender, order rotated per round); medians; run took ${clock(ctx.seconds)}. One process per contender serves the throughput and latency runs of all rounds; each slow-stream run gets a fresh one`);
  out(
    `- small: ${s.small.connections} keep-alive connections, ${s.small.seconds} s (after ${s.small.warmupSeconds} s of warm-up in round 1) · large: ${s.large.connections} connections, ${s.large.seconds} s · ` +
      `latency: ${s.latency.rate} req/s over ${s.latency.connections} connections, ${s.latency.seconds} s (each after ${s.latency.warmupSeconds} s of the small-body load) · streams: ${streams.toLocaleString('en-US')} at once`,
  );
  out();
  out('## Figures');
  out();
  out('| contender | small req/s | ×relay | ×floor | large MB/s | ×relay | ×floor | CPU s/GiB | ×relay | ×floor | p50 added ms | p99 added ms | KiB per slow stream | RSS after, over idle: as left / after GC |');
  out('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const isDirect = r.id === DIRECT;
    const latency = isDirect ? [`(${fmt(r.p50Ms, 2)})`, `(${fmt(r.p99Ms, 2)})`] : [fmt(r.p50AddedMs, 2), fmt(r.p99AddedMs, 2)];
    out(
      `| ${r.label} | ${fmt(r.smallRps)} | ${ratio(r.smallRps, relay?.smallRps ?? NaN)} | ${ratio(r.smallRps, floor?.smallRps ?? NaN)} ` +
        `| ${fmt(r.largeMBps)} | ${ratio(r.largeMBps, relay?.largeMBps ?? NaN)} | ${ratio(r.largeMBps, floor?.largeMBps ?? NaN)} ` +
        `| ${fmt(r.cpuPerGiB, 2)} | ${ratio(r.cpuPerGiB, relay?.cpuPerGiB ?? NaN)} | ${ratio(r.cpuPerGiB, floor?.cpuPerGiB ?? NaN)} ` +
        `| ${latency[0]} | ${latency[1]} | ${isDirect ? '' : fmt(r.kibPerStream, 1)} | ${isDirect ? '' : `${signed(r.afterMiB)} / ${signed(r.afterGcMiB)} MiB`} |`,
    );
  }
  out();
  out('- **small req/s**: 1 KiB responses per second. **large MB/s**: 10⁶ bytes per second of 64 MiB responses received. Higher is better; ×relay / ×floor divide by the TCP relay\'s and the floor\'s figure.');
  out('- **CPU s/GiB**: user + system CPU seconds of the contender process (nginx: master + worker, from /proc) during the large-body run, per GiB relayed. Lower is better.');
  out('- **added ms**: the contender\'s p50 / p99 latency at the fixed rate minus the origin\'s own in the same round (origin row, in brackets: its absolute latency). Lower is better.');
  out(`- **KiB per slow stream**: (highest RSS while ${streams.toLocaleString('en-US')} responses are held open by a client that reads nothing after the first chunk − RSS of the freshly started, warmed, idle process) ÷ streams opened. **RSS after**: RSS ${s.streams.afterMs / 1000} s after the client closed them all, minus the idle RSS; then again after a full GC forced over IPC (\`--expose-gc\`; nginx has none). Kernel socket buffers are not in RSS.`);
  const direct = rows.find((r) => r.id === DIRECT);
  for (const [key, name] of [
    ['smallRps', 'small-body'],
    ['largeMBps', 'large-body'],
  ] as const) {
    const best = Math.max(...rows.filter((r) => r.id !== DIRECT).map((r) => r[key]).filter(Number.isFinite));
    const ceiling = direct?.[key] ?? NaN;
    if (best >= 0.8 * ceiling) {
      out(`- **Caution**: the best ${name} figure is ${((best / ceiling) * 100).toFixed(0)}% of the origin's own through the same load generator: there the generator or the origin, not the proxy, may be the limit.`);
    }
  }
  if (ctx.load.startsWith('autocannon')) {
    out('- **Caution**: autocannon (a JavaScript client sharing the 2 cores) caps the large-body figure well below what wrk measures, and reconnects slowly after `connection: close` (socket mode\'s small-body figure). Install wrk for comparable figures.');
  }
  const cached = rows.filter((r) => Number.isFinite(r.cacheRps));
  if (cached.length > 0) {
    const reference = rows.find((r) => r.id === 'undici-cache');
    out();
    out('## Cache hits');
    out();
    out(`Requests/s for a 1 KiB response the origin marks \`Cache-Control: ${CACHED_CONTROL}\`, ${s.small.connections} keep-alive connections, ${s.small.seconds} s, after the first round's warm-up stored it (scenarios/cache-hit.ts). Without a cache (handoff response mode, the origin) every request is relayed or served; the caching contenders answer from memory.`);
    out();
    out('| contender | cache-hit req/s | ×undici cache |');
    out('| --- | ---: | ---: |');
    for (const r of cached) out(`| ${r.label} | ${fmt(r.cacheRps)} | ${ratio(r.cacheRps, reference?.cacheRps ?? NaN)} |`);
  }
  out();
  out('## Targets');
  out();
  out('The result is decided on the medians; the last column gives the same figure from each round alone (ratios: both contenders in that round), so a verdict that noise can turn shows as a split.');
  out();
  out('| target | measured | result | margin | round by round |');
  out('| --- | ---: | :---: | ---: | --- |');
  for (const t of checkTargets(rows, streams)) {
    out(`| ${t.target} | ${t.measured} | ${t.pass == null ? 'n/a' : t.pass ? 'PASS' : '**FAIL**'} | ${t.margin} | ${t.rounds} |`);
  }
  out();
  const floorRate = floor?.smallRps ?? NaN;
  out(
    `Latency is measured at ${s.latency.rate} req/s, ${Number.isFinite(floorRate) ? `${((s.latency.rate / floorRate) * 100).toFixed(0)}% of the ${fmt(floorRate)} req/s the floor sustains with ${s.small.connections} connections` : 'the floor\'s capacity was not measured'}. ` +
      `Socket mode answers \`connection: close\`, so its clients open a new connection for every request.`,
  );
  if (s.latency.rate > floorRate / 3) {
    out();
    out(`**Caution**: that rate is not comfortable for the floor (over a third of its capacity), so queueing inflates the added latency; lower it with BENCH_RATE.`);
  }
  out();
  out('## Per contender');
  out();
  out('| contender | rounds | latency rate achieved | p50 / p99 ms | idle → held RSS MiB | streams opened | notes |');
  out('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    out(
      `| ${r.label} | ${r.rounds} | ${fmt(r.latencyRate)} req/s | ${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)} ` +
        `| ${r.id === DIRECT ? '' : `${fmt(r.idleMiB, 1)} → ${fmt(r.heldMiB, 1)}`} | ${r.id === DIRECT ? '' : fmt(r.opened)} | ${r.notes.join('; ').replace(/\|/g, '/')} |`,
    );
  }
  out();
  out('![chart](results.svg)');
  out();
  return lines.join('\n');
}
