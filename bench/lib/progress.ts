/**
 * The progress line: one line rewritten in place on a terminal, one line per
 * step otherwise (CI logs), with the elapsed time and an estimate of what is
 * left from the steps' expected durations (their weights).
 */
export class Progress {
  private done = 0;
  private current = 0;
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(private readonly total: number) {}

  /** Announces the step about to run; `weight` is its expected duration in any unit. */
  step(label: string, weight: number): void {
    this.done += this.current;
    this.current = weight;
    const elapsed = (Date.now() - this.started) / 1000;
    const left = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : NaN;
    const percent = `${Math.floor((this.done / this.total) * 100)}%`.padStart(4);
    const line = `[${percent}] ${label}  (${clock(elapsed)} elapsed${Number.isFinite(left) ? `, ~${clock(left)} left` : ''})`;
    if (this.tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
    else console.log(line);
  }

  /** Prints a message on its own line without losing the progress line. */
  note(message: string): void {
    if (this.tty) process.stdout.write('\r\x1b[2K');
    console.log(message);
  }

  finish(): void {
    if (this.tty) process.stdout.write('\r\x1b[2K');
    console.log(`done in ${clock((Date.now() - this.started) / 1000)}`);
  }
}

export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
