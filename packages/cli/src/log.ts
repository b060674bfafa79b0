/**
 * One line per event on stderr. Query strings are cut from every URL first: they
 * carry signed-URL tokens and session ids that have no place in a log.
 */
const URL_QUERY = /(\bhttps?:\/\/[^\s?#]*)\?[^\s#)]*/g;

export function redact(text: string): string {
  return text.replace(URL_QUERY, '$1?…').replace(/[\r\n]+/g, ' ');
}

/** The request path without its query, for log lines. */
export function pathOf(url: string | undefined): string {
  const path = url ?? '';
  const q = path.indexOf('?');
  return redact(q === -1 ? path : `${path.slice(0, q)}?…`);
}

export function logError(line: string): void {
  process.stderr.write(`handoff: ${redact(line)}\n`);
}

export function logInfo(line: string): void {
  process.stdout.write(`handoff: ${line}\n`);
}
