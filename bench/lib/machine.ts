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
