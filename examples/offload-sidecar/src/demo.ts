// 50 slow downloads and a /ping, through the handoff sidecar and then without it.
// Bounded: each phase has its own limits, and the whole demo gives up after DEADLINE.
import { download, timedGet, type Download } from './clients';
import { startApp, startSidecar, type Child } from './processes';

const DOWNLOADS = 50;
const PINGS = 10;
/** 1 MiB at the origin's 256 KiB/s: each download takes about 4 s. */
const FILE_BYTES = 1024 * 1024;
/** How long one /ping may take before the demo records it as unanswered. */
const PING_LIMIT = 10_000;
/** How long the downloads may take to start streaming (with the sidecar) or to finish. */
const STREAM_LIMIT = 20_000;
const DEADLINE = 120_000;

interface PhaseResult {
  idle: number[];
  streaming: number;
  pings: number[];
  unanswered: number;
  completed: number;
  downloadMs: number[];
  inFlight?: string;
  offloads?: string;
}

async function waitUntil(predicate: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function metric(text: string, series: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);
}

async function phase(withSidecar: boolean): Promise<PhaseResult> {
  const children: Child[] = [];
  try {
    const app = await startApp(withSidecar ? 'offload' : 'direct', FILE_BYTES);
    children.push(app);
    const [origin, backend] = [app.match[0]![1]!, app.match[1]![1]!];
    let front = backend;
    let metricsUrl: string | undefined;
    if (withSidecar) {
      const sidecar = await startSidecar(backend, origin);
      children.unshift(sidecar);
      [front, metricsUrl] = [sidecar.match[0]![1]!, sidecar.match[1]![1]!];
    }
    console.log(`\n== ${withSidecar ? `with the sidecar: clients → ${front} → backend ${backend}` : `without it: clients → backend ${backend}`}`);

    const idle: number[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await timedGet(`${front}/ping`, PING_LIMIT);
      if (answer?.status === 200) idle.push(answer.ms);
    }
    console.log(`/ping with nothing else running: ${idle.map((v) => v.toFixed(1)).join(', ')} ms`);

    const downloads: Download[] = Array.from({ length: DOWNLOADS }, (_, i) => download(`${front}/download/${i}`));
    await Promise.all(downloads.map((d) => d.sent));
    // With the sidecar every download streams at once; without it, only the two the workers hold.
    const expected = withSidecar ? DOWNLOADS : 2;
    await waitUntil(() => downloads.filter((d) => d.streaming).length >= expected, STREAM_LIMIT);
    const streaming = downloads.filter((d) => d.streaming).length;
    console.log(`${streaming} of ${DOWNLOADS} downloads streaming; timing ${PINGS} × GET /ping through ${front}`);

    const pings: number[] = [];
    let unanswered = 0;
    let inFlight: string | undefined;
    for (let i = 0; i < PINGS; i++) {
      const answer = await timedGet(`${front}/ping`, PING_LIMIT);
      if (!answer || answer.status !== 200) {
        unanswered++;
        console.log(`  /ping ${i + 1}: no answer within ${PING_LIMIT / 1000} s; giving up`);
        break;
      }
      pings.push(answer.ms);
      console.log(`  /ping ${i + 1}: ${answer.ms.toFixed(1)} ms, ${downloads.filter((d) => d.streaming && d.bytes < FILE_BYTES).length} downloads streaming`);
    }
    if (metricsUrl) inFlight = metric((await timedGet(`${metricsUrl}/metrics`, 5_000))?.body ?? '', 'handoff_in_flight');

    let completed = 0;
    const downloadMs: number[] = [];
    if (withSidecar) {
      const results = await Promise.race([
        Promise.all(downloads.map((d) => d.done)),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), STREAM_LIMIT).unref()),
      ]);
      results?.forEach((r, i) => {
        if (!r.complete || downloads[i]!.bytes !== FILE_BYTES) return;
        completed++;
        downloadMs.push(r.ms);
      });
    }
    for (const d of downloads) d.abort();
    const offloads = metricsUrl ? metric((await timedGet(`${metricsUrl}/metrics`, 5_000))?.body ?? '', 'handoff_offloads_total{kind="url"}') : undefined;
    return { idle, streaming, pings, unanswered, completed, downloadMs, inFlight, offloads };
  } finally {
    for (const child of children) await child.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function ms(value: number): string {
  return Number.isNaN(value) ? '—' : `${value.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const guard = setTimeout(() => {
    console.error(`demo: gave up after ${DEADLINE / 1000} s`);
    process.exit(1);
  }, DEADLINE);
  guard.unref();
  const withSidecar = await phase(true);
  const without = await phase(false);

  const rows: Array<[string, string, string]> = [
    ['/ping median, nothing else running', ms(median(withSidecar.idle)), ms(median(without.idle))],
    ['downloads streaming at once', `${withSidecar.streaming} of ${DOWNLOADS}`, `${without.streaming} of ${DOWNLOADS}`],
    [
      '/ping answered during the downloads',
      `${withSidecar.pings.length} of ${withSidecar.pings.length + withSidecar.unanswered}`,
      `${without.pings.length} of ${without.pings.length + without.unanswered}${without.unanswered ? ` (none within ${PING_LIMIT / 1000} s)` : ''}`,
    ],
    ['/ping median during the downloads', ms(median(withSidecar.pings)), without.pings.length ? ms(median(without.pings)) : `> ${PING_LIMIT} ms`],
    ['/ping slowest during the downloads', ms(Math.max(...withSidecar.pings)), without.pings.length ? ms(Math.max(...without.pings)) : `> ${PING_LIMIT} ms`],
    ['downloads completed', `${withSidecar.completed} of ${DOWNLOADS} (median ${(median(withSidecar.downloadMs) / 1000).toFixed(1)} s)`, 'not waited for (aborted)'],
  ];
  console.log('\n== results');
  console.log(`| | with the sidecar | without it |\n| --- | --- | --- |`);
  for (const [what, a, b] of rows) console.log(`| ${what} | ${a} | ${b} |`);
  console.log(`\nsidecar metrics: handoff_in_flight ${withSidecar.inFlight ?? '?'} during the pings, handoff_offloads_total{kind="url"} ${withSidecar.offloads ?? '?'}`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
