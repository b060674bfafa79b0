/** bench/results.svg: one horizontal bar panel per figure, relay and floor marked, written by hand. */
import { DIRECT, FLOOR, RELAY } from '../contenders/list';
import type { ReportContext } from './markdown';
import type { Row } from './summary';

interface Panel {
  title: string;
  value: (r: Row) => number;
  digits: number;
  /** the origin's own figure is shown for throughput only */
  withDirect: boolean;
  /** label each bar with its ratio to the TCP relay */
  ratio: boolean;
  /** an absolute target from issue #4, drawn as a red line */
  target?: number;
}

const PANELS: Panel[] = [
  { title: 'small body, requests/s (higher is better)', value: (r) => r.smallRps, digits: 0, withDirect: true, ratio: true },
  { title: 'large body, MB/s (higher is better)', value: (r) => r.largeMBps, digits: 0, withDirect: true, ratio: true },
  { title: 'CPU seconds per GiB relayed (lower is better)', value: (r) => r.cpuPerGiB, digits: 2, withDirect: false, ratio: true },
  { title: 'p99 latency added at a fixed rate, ms (lower is better)', value: (r) => r.p99AddedMs, digits: 2, withDirect: false, ratio: false, target: 2 },
  { title: 'KiB of RSS per concurrent slow stream (lower is better)', value: (r) => r.kibPerStream, digits: 1, withDirect: false, ratio: true, target: 48 },
];

const WIDTH = 980;
const LABEL = 250;
const BARS = 500;
const ROW = 20;

function colour(id: string): string {
  if (id.startsWith('handoff')) return '#e8590c';
  if (id === RELAY) return '#343a40';
  if (id === FLOOR) return '#1c7ed6';
  if (id === DIRECT) return '#ced4da';
  if (id === 'nginx') return '#2f9e44';
  return '#868e96';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(rows: Row[], ctx: ReportContext): string {
  const parts: string[] = [];
  let y = 76;
  for (const panel of PANELS) {
    const shown = rows.filter((r) => panel.withDirect || r.id !== DIRECT);
    const finite = [...shown.map(panel.value), ...(panel.target != null ? [panel.target] : [])].filter(Number.isFinite);
    // Added latency can be negative: the axis then starts below zero.
    const lo = Math.min(0, ...finite);
    const hi = Math.max(0, ...finite) || 1;
    const sx = (v: number) => LABEL + ((v - lo) / (hi - lo || 1)) * BARS;
    const relay = panel.value(rows.find((r) => r.id === RELAY) ?? ({} as Row));
    parts.push(`<text x="10" y="${y}" class="title">${esc(panel.title)}</text>`);
    y += 10;
    const top = y;
    for (const r of shown) {
      const v = panel.value(r);
      const ok = Number.isFinite(v);
      const x = sx(Math.min(0, ok ? v : 0));
      const w = ok ? Math.max(1, sx(Math.max(0, v)) - x) : 0;
      const times = panel.ratio && r.id !== RELAY && Number.isFinite(v / relay) ? `  (${(v / relay).toFixed(2)}× relay)` : '';
      const label = ok ? `${v.toLocaleString('en-US', { maximumFractionDigits: panel.digits, minimumFractionDigits: panel.digits })}${times}` : 'not measured';
      parts.push(
        `<text x="${LABEL - 8}" y="${y + 14}" class="label">${esc(r.label)}</text>`,
        `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" fill="${colour(r.id)}"/>`,
        `<text x="${(sx(Math.max(0, ok ? v : 0)) + 6).toFixed(1)}" y="${y + 14}" class="value">${esc(label)}</text>`,
      );
      y += ROW;
    }
    for (const [id, dash] of [
      [RELAY, '5,3'],
      [FLOOR, '2,3'],
    ] as const) {
      const v = panel.value(rows.find((r) => r.id === id) ?? ({} as Row));
      if (!Number.isFinite(v)) continue;
      const x = sx(v);
      parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${y}" stroke="${colour(id)}" stroke-dasharray="${dash}"/>`);
    }
    if (panel.target != null) {
      const x = sx(panel.target);
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y}" stroke="#e03131" stroke-width="1.5"/>`,
        `<text x="${(x + 3).toFixed(1)}" y="${top + 2}" class="target">target ${panel.target}</text>`,
      );
    }
    y += 30;
  }
  const lines = [
    `${ctx.settings.rounds} round(s), medians · origin: ${ctx.origin} · load: ${ctx.load}`,
    `${ctx.cpu}, Node ${ctx.node} · dashed line: TCP relay, dotted: Koa + undici.stream floor, red: target`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, sans-serif">
<style>.title{font-size:14px;font-weight:600}.label{font-size:12px;text-anchor:end}.value{font-size:11px;fill:#343a40}.sub{font-size:11px;fill:#495057}.target{font-size:10px;fill:#e03131}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" class="title">handoff benchmark${ctx.settings.quick ? ' (BENCH_QUICK smoke run)' : ''}</text>
<text x="10" y="36" class="sub">${esc(lines[0]!)}</text>
<text x="10" y="50" class="sub">${esc(lines[1]!)}</text>
${parts.join('\n')}
</svg>
`;
}
