/**
 * Reads the configuration from its four sources — flags > environment > file >
 * defaults — and validates every value once, naming the key and where it came from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
// yaml: a maintained YAML 1.2 parser that reports duplicate keys and positions.
import { parse as parseYaml } from 'yaml';
import type { KeyDef } from './key-def';
import { KEYS, SECTIONS, envName, flagName, type SidecarConfig } from './keys';
import { ConfigError } from './values';

/** What `handoff queue` does with the dead letters. */
export type QueueAction = { action: 'dead-letters' } | { action: 'retry' | 'purge'; ids: string[] | 'all' };

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'run'; config: SidecarConfig; sources: Record<string, string> }
  /** `handoff worker`: delivery workers only, no listener. */
  | { kind: 'worker'; config: SidecarConfig; sources: Record<string, string> }
  /** `handoff queue dead-letters | retry ID…|--all | purge ID…|--all`. */
  | { kind: 'queue'; queue: QueueAction; config: SidecarConfig; sources: Record<string, string> };

interface Given {
  value: unknown;
  source: string;
}

const BY_KEY = new Map(KEYS.map((k) => [k.key, k]));
const BY_ENV = new Map(KEYS.map((k) => [envName(k.key), k]));
const CONFIG_ENV = 'HANDOFF_CONFIG';

/** Parses argv and env (and the file they name) into a command; throws ConfigError for anything invalid. */
export function loadCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const flags = readFlags(argv);
  if (flags.help) return { kind: 'help' };
  if (flags.version) return { kind: 'version' };
  const [verb, ...rest] = flags.positionals;

  const given = new Map<string, Given>();
  const file = flags.config ?? (env[CONFIG_ENV] || undefined);
  if (file !== undefined) {
    const source = flags.config !== undefined ? '--config' : CONFIG_ENV;
    for (const [key, value] of readFile(file, source)) given.set(key, { value, source: `config file ${file}` });
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('HANDOFF_') || name === CONFIG_ENV || value === undefined) continue;
    const def = BY_ENV.get(name);
    if (!def) throw new ConfigError(`unknown environment variable ${name} (known: ${[...BY_ENV.keys(), CONFIG_ENV].join(', ')})`);
    given.set(def.key, { value, source: `environment ${name}` });
  }
  for (const [key, value] of flags.values) given.set(key, { value, source: `flag --${flagName(key)}` });

  const config = {} as Record<string, unknown>;
  const sources: Record<string, string> = {};
  for (const def of KEYS) {
    const entry = given.get(def.key) ?? (def.fallback === undefined ? undefined : { value: def.fallback, source: 'default' });
    if (!entry) continue;
    set(config, def.key, parse(def, entry));
    sources[def.key] = entry.source;
  }
  const result = config as unknown as SidecarConfig;
  if (verb === 'worker') {
    if (rest.length > 0 || flags.all) throw new ConfigError(`handoff worker takes no arguments, got ${[...rest, ...(flags.all ? ['--all'] : [])].join(' ')}`);
    return { kind: 'worker', config: result, sources };
  }
  if (verb === 'queue') return { kind: 'queue', queue: queueAction(rest, flags.all), config: result, sources };
  if (verb !== undefined) throw new ConfigError(`Unexpected argument '${verb}' (commands: worker, queue; see handoff --help)`);
  if (flags.all) throw new ConfigError('--all belongs to handoff queue retry|purge');
  if (config.backend === undefined) {
    throw new ConfigError(`backend is required: set backend in the config file, ${envName('backend')}, or --backend`);
  }
  const { listen, metricsListen } = result;
  if (metricsListen && metricsListen.port !== 0 && metricsListen.port === listen.port && metricsListen.host === listen.host) {
    throw new ConfigError(`metricsListen (${sources.metricsListen}) must differ from listen (${sources.listen}): both are ${listen.host}:${listen.port}`);
  }
  return { kind: 'run', config: result, sources };
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function queueAction(args: string[], all: boolean): QueueAction {
  const [action, ...ids] = args;
  if (action === 'dead-letters') {
    if (ids.length > 0 || all) throw new ConfigError('handoff queue dead-letters takes no arguments');
    return { action };
  }
  if (action === 'retry' || action === 'purge') {
    if (all === (ids.length > 0)) throw new ConfigError(`handoff queue ${action} needs job ids or --all (one of them)`);
    const bad = ids.find((id) => !JOB_ID.test(id));
    if (bad !== undefined) throw new ConfigError(`handoff queue ${action}: ${JSON.stringify(bad)} is not a job id (a UUID, as dead-letters lists them)`);
    return { action, ids: all ? 'all' : ids };
  }
  throw new ConfigError(`handoff queue needs dead-letters, retry or purge, got ${action === undefined ? 'nothing' : JSON.stringify(action)}`);
}

function parse(def: KeyDef, entry: Given): unknown {
  try {
    return def.parse(entry.value);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${def.key} (${entry.source}) ${err.message}`);
    throw err;
  }
}

function set(into: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split('.') as [string, string | undefined];
  if (tail === undefined) {
    into[head] = value;
    return;
  }
  const section = (into[head] ??= {}) as Record<string, unknown>;
  section[tail] = value;
}

interface Flags {
  help: boolean;
  version: boolean;
  all: boolean;
  positionals: string[];
  config: string | undefined;
  values: Map<string, unknown>;
}

function readFlags(argv: readonly string[]): Flags {
  const options: NonNullable<Parameters<typeof parseArgs>[0]>['options'] = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    config: { type: 'string', short: 'c' },
    all: { type: 'boolean' },
  };
  for (const def of KEYS) options[flagName(def.key)] = { type: 'string', multiple: def.repeatable === true };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    // parseArgs says e.g. "Unknown option '--foo'"; keep its words, add where to look.
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (see handoff --help)`);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const values = new Map<string, unknown>();
  for (const def of KEYS) {
    const raw = v[flagName(def.key)];
    if (raw === undefined) continue;
    values.set(def.key, Array.isArray(raw) ? raw.join(',') : raw);
  }
  return {
    help: v.help === true,
    version: v.version === true,
    all: v.all === true,
    positionals: parsed.positionals,
    config: v.config as string | undefined,
    values,
  };
}

/** The file's keys, flattened to dotted paths; unknown keys are refused. */
function readFile(file: string, via: string): Array<[string, unknown]> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new ConfigError(`config file ${file} (${via}) must end in .yaml, .yml or .json`);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file} (${via}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${oneLine((err as Error).message)}`);
  }
  if (data == null) return [];
  if (!isPlainObject(data)) throw new ConfigError(`config file ${file} must hold a map of keys at the top level`);
  const out: Array<[string, unknown]> = [];
  for (const [name, value] of Object.entries(data)) {
    if (SECTIONS.has(name)) {
      if (!isPlainObject(value)) throw new ConfigError(`${name} (config file ${file}) must be a map of keys`);
      for (const [sub, subValue] of Object.entries(value)) out.push([known(`${name}.${sub}`, file), subValue]);
    } else {
      out.push([known(name, file), value]);
    }
  }
  return out;
}

function known(key: string, file: string): string {
  if (BY_KEY.has(key)) return key;
  throw new ConfigError(`unknown key ${key} in config file ${file} (known: ${KEYS.map((k) => k.key).join(', ')})`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
