import { KEYS, envName, flagName } from './config/keys';

/** The text of `handoff --help`, written from the key table so it cannot drift. */
export function helpText(version: string): string {
  const lines = [
    `handoff ${version} — a reverse proxy in front of one backend that performs the offload`,
    'instructions in its responses (Offload-Url, X-Accel-Redirect, X-Sendfile), so the backend',
    'answers at once and the proxy streams the slow part.',
    '',
    'Usage:',
    '  handoff --backend http://127.0.0.1:3000 --offload-allow https://files.example [options]',
    '  handoff --config handoff.yaml',
    '  handoff worker [options]            deliver queued requests (async rules) from this process',
    '  handoff queue dead-letters          list the jobs that failed for good',
    '  handoff queue retry ID…|--all       put dead letters back in the queue',
    '  handoff queue purge ID…|--all       delete dead letters',
    '',
    'Options (config key, environment variable, default):',
  ];
  for (const def of KEYS) {
    const flag = `  --${flagName(def.key)} <${def.arg}>`;
    lines.push(`${flag.padEnd(40)} ${def.key}, ${envName(def.key)}, ${def.fallback === undefined ? 'required' : def.fallback === '' ? 'none' : def.fallback}`);
    lines.push(`      ${def.help}${def.repeatable ? ' (comma-separated; the flag may repeat)' : ''}`);
  }
  lines.push(
    `  ${'-c, --config <file>'.padEnd(38)} HANDOFF_CONFIG: a .yaml, .yml or .json file of the keys above`,
    `  ${'-h, --help'.padEnd(38)} this text`,
    `  ${'-v, --version'.padEnd(38)} the version`,
    '',
    'Precedence: flags > environment > config file > defaults. A list given by a higher source',
    'replaces the lower one. Durations: 500ms, 30s, 2m (a bare number is ms). Sizes: 512k, 10m,',
    '1g (powers of 1024; a bare number is bytes). Unknown keys, unknown HANDOFF_* variables and',
    'invalid values stop the start with one line naming the key and its source, exit code 2.',
    '',
    'On metricsListen: GET /metrics (Prometheus text) and GET /healthz (200 while serving, 503',
    'while draining). The bound addresses are printed on stdout; failed transfers are logged on',
    'stderr, one line each, with query strings removed.',
    '',
    'SIGTERM/SIGINT: stop accepting, let in-flight transfers finish for shutdownTimeout, abort',
    'the rest, exit 0. A second signal exits at once (128 + signal number).',
    '',
    'Exit codes: 0 clean shutdown, 1 failed to start or crashed, 2 invalid configuration.',
  );
  return lines.join('\n') + '\n';
}
