/** One configuration key: how `KEYS` describes it to the loader and to `--help`. */
export interface KeyDef {
  /** Dotted path in the config file. */
  key: string;
  /** Placeholder shown in --help. */
  arg: string;
  /** Default as written in the environment; undefined means required. */
  fallback: string | undefined;
  help: string;
  /** Lists and maps: a flag may be repeated, and every form also takes comma-separated values. */
  repeatable?: boolean;
  parse(value: unknown): unknown;
}
