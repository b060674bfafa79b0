/** How busy the machine is apart from us: the bench shares its 2 cores with whatever else runs. */
import fs from 'node:fs';

function cpuTimes(): { busy: number; total: number } {
  // First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share (0..1) of all CPUs busy over the next `ms` milliseconds, while the bench itself is idle. */
export async function busyShare(ms: number): Promise<number> {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = cpuTimes();
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}

const KDAMONDS = '/sys/kernel/mm/damon/admin/kdamonds';

/** Whether a DAMON kernel thread is paging out cold memory on its own (seen on VMs), which evicts page cache mid-run. */
export function proactiveReclaim(): boolean {
  try {
    return fs.readdirSync(KDAMONDS).some((d) => /^\d+$/.test(d) && fs.readFileSync(`${KDAMONDS}/${d}/state`, 'utf8').trim() === 'on');
  } catch {
    return false;
  }
}

/** File pages read again after the kernel evicted them (/proc/vmstat), a sign of reclaim working against the run. */
export function fileRefaults(): number {
  const line = fs.readFileSync('/proc/vmstat', 'utf8').split('\n').find((l) => l.startsWith('workingset_refault_file '));
  return line ? Number(line.split(' ')[1]) : NaN;
}
