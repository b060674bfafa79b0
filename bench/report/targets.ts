/** The targets of issue #4, each checked against the medians. */
import { FLOOR, RELAY } from '../contenders/list';
import type { Row } from './summary';

export interface TargetCheck {
  target: string;
  measured: string;
  pass: boolean | null;
  /** how far above (+) or below (−) the target, relative to it */
  margin: string;
}

const MODES = [
  ['handoff-response', 'response'],
  ['handoff-socket', 'socket'],
] as const;

/** Margin, positive when met: "≥" targets measured / required − 1; "≤" targets (required − measured) / required. */
function check(target: string, value: number, required: number, atLeast: boolean, show: (v: number) => string): TargetCheck {
  if (!Number.isFinite(value)) return { target, measured: 'not measured', pass: null, margin: '' };
  const pass = atLeast ? value >= required : value <= required;
  const margin = atLeast ? value / required - 1 : (required - value) / required;
  return { target, measured: show(value), pass, margin: `${margin >= 0 ? '+' : '−'}${Math.abs(margin * 100).toFixed(0)}%` };
}

const times = (v: number) => `${v.toFixed(2)}×`;

export function checkTargets(rows: Row[], streams: number): TargetCheck[] {
  const row = (id: string) => rows.find((r) => r.id === id);
  const ratio = (id: string, ref: string, key: 'smallRps' | 'largeMBps') => (row(id)?.[key] ?? NaN) / (row(ref)?.[key] ?? NaN);
  const checks: TargetCheck[] = [];
  for (const [id, mode] of MODES) {
    const need = mode === 'response' ? 0.85 : 0.9;
    checks.push(check(`large body, ${mode} mode ≥ ${need} × TCP relay`, ratio(id, RELAY, 'largeMBps'), need, true, times));
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`large body, ${mode} mode ≥ 1.5 × http-proxy`, ratio(id, 'http-proxy', 'largeMBps'), 1.5, true, times));
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`small body, ${mode} mode ≥ 1.0 × floor`, ratio(id, FLOOR, 'smallRps'), 1, true, times));
    checks.push(check(`small body, ${mode} mode ≥ 2 × http-proxy`, ratio(id, 'http-proxy', 'smallRps'), 2, true, times));
    checks.push(check(`small body, ${mode} mode ≥ 2 × koa-proxies`, ratio(id, 'koa-proxies', 'smallRps'), 2, true, times));
  }
  for (const [id, mode] of MODES) {
    const r = row(id);
    checks.push(check(`${mode} mode ≤ 48 KiB RSS per slow stream at ${streams.toLocaleString('en-US')}`, r?.kibPerStream ?? NaN, 48, false, (v) => `${v.toFixed(1)} KiB`));
    // "Near baseline": after a full GC, what is left is at most 10% of what the streams took, or 10 MiB.
    const allowed = Math.max(10, 0.1 * ((r?.heldMiB ?? NaN) - (r?.idleMiB ?? NaN)));
    const limit = Number.isFinite(allowed) ? ` = ${allowed.toFixed(0)} MiB` : '';
    checks.push(
      check(`${mode} mode RSS back near idle after the streams and a GC (≤ max(10 MiB, 10% of the growth)${limit} over idle)`, r?.afterGcMiB ?? NaN, allowed, false, (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)} MiB`),
    );
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`${mode} mode p99 added latency ≤ 2 ms`, row(id)?.p99AddedMs ?? NaN, 2, false, (v) => `${v.toFixed(2)} ms`));
  }
  return checks;
}
