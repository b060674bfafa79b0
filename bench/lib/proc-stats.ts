/**
 * RSS and CPU time of a process and everything it forked (nginx: master +
 * workers), read from /proc so that every contender is measured the same way
 * whatever it is written in.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

function conf(name: string, fallback: number): number {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
}

const TICKS = conf('CLK_TCK', 100);
const PAGE = conf('PAGESIZE', 4096);

interface Stat {
  ppid: number;
  /** user + system CPU seconds */
  cpu: number;
  rss: number;
}

function stat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the parenthesised command name, which may itself hold spaces: proc(5).
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICKS, rss: Number(f[21]) * PAGE };
}

/** Pids of every live descendant of `pid`. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(entry));
    children.set(s.ppid, list);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export interface Usage {
  /** resident set size in bytes, summed over the tree */
  rss: number;
  /** CPU seconds (user + system) used so far, summed over the tree */
  cpu: number;
}

/** RSS and CPU time of `pid` and its descendants. */
export function usage(pid: number): Usage {
  let rss = 0;
  let cpu = 0;
  for (const p of [pid, ...descendants(pid)]) {
    const s = stat(p);
    if (!s) continue;
    rss += s.rss;
    cpu += s.cpu;
  }
  return { rss, cpu };
}
