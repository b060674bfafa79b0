/** The value of one sample line, e.g. `handoff_in_flight` or `handoff_errors_total{reason="X"}`. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
