/** The targets of issue #4, each checked against the medians. */
import { EXPRESS_FLOOR, EXPRESS_HANDOFF, FASTIFY_FLOOR, FASTIFY_HANDOFF, FLOOR, RELAY } from '../contenders/list';
import type { Row } from './summary';

export interface TargetCheck {
  target: string;
  measured: string;
  pass: boolean | null;
  /** how far above (+) or below (−) the target, relative to it */
  margin: string;
  /** the same figure round by round, and in how many rounds it met the target: how far noise moves the verdict */
  rounds: string;
}

const MODES = [
  ['handoff-response', 'response'],
  ['handoff-socket', 'socket'],
] as const;

/**
 * Margin, positive when met: "≥" targets measured / required − 1; "≤" targets (required − measured) / required.
 * `value` is the median figure (ratios: of the medians); `perRound` the same figure from each round alone.
 */
function check(
  target: string,
  value: number,
  perRound: number[],
  required: number,
  atLeast: boolean,
  show: (v: number) => string,
): TargetCheck {
  const meets = (v: number) => (atLeast ? v >= required : v <= required);
  const measuredRounds = perRound.filter((v) => Number.isFinite(v));
  const rounds = measuredRounds.length
    ? `${measuredRounds.map(show).join(' · ')} (${measuredRounds.filter(meets).length} of ${measuredRounds.length} met)`
    : '';
  if (!Number.isFinite(value)) return { target, measured: 'not measured', pass: null, margin: '', rounds };
  const margin = atLeast ? value / required - 1 : (required - value) / required;
  return { target, measured: show(value), pass: meets(value), margin: `${margin >= 0 ? '+' : '−'}${Math.abs(margin * 100).toFixed(0)}%`, rounds };
}

const times = (v: number) => `${v.toFixed(2)}×`;

/** a / b round by round */
const divide = (a: number[] = [], b: number[] = []) => a.map((x, i) => x / (b[i] ?? NaN));

export function checkTargets(rows: Row[], streams: number): TargetCheck[] {
  const row = (id: string) => rows.find((r) => r.id === id);
  const ratio = (id: string, ref: string, key: 'smallRps' | 'largeMBps') => (row(id)?.[key] ?? NaN) / (row(ref)?.[key] ?? NaN);
  const ratios = (id: string, ref: string, key: 'smallRps' | 'largeMBps') => divide(row(id)?.byRound[key], row(ref)?.byRound[key]);
  const checks: TargetCheck[] = [];
  for (const [id, mode] of MODES) {
    const need = mode === 'response' ? 0.85 : 0.9;
    checks.push(check(`large body, ${mode} mode ≥ ${need} × TCP relay`, ratio(id, RELAY, 'largeMBps'), ratios(id, RELAY, 'largeMBps'), need, true, times));
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`large body, ${mode} mode ≥ 1.5 × http-proxy`, ratio(id, 'http-proxy', 'largeMBps'), ratios(id, 'http-proxy', 'largeMBps'), 1.5, true, times));
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`small body, ${mode} mode ≥ 1.0 × floor`, ratio(id, FLOOR, 'smallRps'), ratios(id, FLOOR, 'smallRps'), 1, true, times));
    checks.push(check(`small body, ${mode} mode ≥ 2 × http-proxy`, ratio(id, 'http-proxy', 'smallRps'), ratios(id, 'http-proxy', 'smallRps'), 2, true, times));
    checks.push(check(`small body, ${mode} mode ≥ 2 × koa-proxies`, ratio(id, 'koa-proxies', 'smallRps'), ratios(id, 'koa-proxies', 'smallRps'), 2, true, times));
  }
  for (const [id, mode] of MODES) {
    const r = row(id);
    checks.push(check(`${mode} mode ≤ 48 KiB RSS per slow stream at ${streams.toLocaleString('en-US')}`, r?.kibPerStream ?? NaN, r?.byRound.kibPerStream ?? [], 48, false, (v) => `${v.toFixed(1)} KiB`));
    // "Near baseline": after a full GC, what is left is at most 10% of what the streams took, or 10 MiB.
    const allowed = Math.max(10, 0.1 * ((r?.heldMiB ?? NaN) - (r?.idleMiB ?? NaN)));
    const limit = Number.isFinite(allowed) ? ` = ${allowed.toFixed(0)} MiB` : '';
    checks.push(
      check(`${mode} mode RSS back near idle after the streams and a GC (≤ max(10 MiB, 10% of the growth)${limit} over idle)`, r?.afterGcMiB ?? NaN, r?.byRound.afterGcMiB ?? [], allowed, false, (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)} MiB`),
    );
  }
  // Issue #18: each adapter against its own framework's floor and its community's proxy.
  const adapters = [
    [EXPRESS_HANDOFF, 'express', EXPRESS_FLOOR, 'hpm-express', 1.5],
    [FASTIFY_HANDOFF, 'fastify', FASTIFY_FLOOR, 'reply-from', 1.0],
  ] as const;
  for (const [id, name, floor, peer, overPeer] of adapters) {
    checks.push(check(`${name} + handoff, small body ≥ 1.0 × ${name} floor`, ratio(id, floor, 'smallRps'), ratios(id, floor, 'smallRps'), 1, true, times));
    checks.push(check(`${name} + handoff, small body ≥ ${overPeer} × ${peer}`, ratio(id, peer, 'smallRps'), ratios(id, peer, 'smallRps'), overPeer, true, times));
    checks.push(check(`${name} + handoff, large body ≥ 0.9 × TCP relay`, ratio(id, RELAY, 'largeMBps'), ratios(id, RELAY, 'largeMBps'), 0.9, true, times));
    checks.push(check(`${name} + handoff p99 added latency ≤ 2 ms`, row(id)?.p99AddedMs ?? NaN, row(id)?.byRound.p99AddedMs ?? [], 2, false, (v) => `${v.toFixed(2)} ms`));
  }
  for (const [id, mode] of MODES) {
    checks.push(check(`${mode} mode p99 added latency ≤ 2 ms`, row(id)?.p99AddedMs ?? NaN, row(id)?.byRound.p99AddedMs ?? [], 2, false, (v) => `${v.toFixed(2)} ms`));
  }
  return checks;
}
