// The command line and GRACEFUL_* variables, read against an option table: graceful run's
// own fast parser (the start path: commander is not loaded), and the reader every
// command's resolver uses (flag, else variable, each value with where it came from). An
// option's key is typed from its table: a key that no option has does not compile.
import { quote, UsageError } from './errors.js';
import { parseBoolean, parseDuration } from './parse.js';

/** One option of a command: its flag, its environment variable and its help. */
export interface OptionSpec<K extends string = string> {
  /** The attribute commander stores the value under; the resolvers read it by this key. */
  key: K;
  flags: string;
  env: string;
  description: string;
  /** The default, as --help shows it and npm run docs writes it into docs/options.md (from config/defaults.ts). */
  default: string;
  /** A boolean flag (no value); the environment variable then takes 1/0, true/false. */
  boolean?: true;
  /** May be given several times (each value kept); the environment variable takes a space-separated list. */
  repeatable?: true;
}

/** The keys of an option table. */
export type KeyOf<T extends readonly OptionSpec[]> = T[number]['key'];

/** A value given on the command line: text, a flag, or each value of a repeatable option. */
export type FlagValue = string | boolean | string[];

/** Values given on the command line, by OptionSpec.key (absent when not given). */
export type Flags<K extends string> = Partial<Record<K, FlagValue>>;

/** What a command's options are resolved from. */
export interface Inputs<K extends string = string> {
  command: string[];
  flags: Flags<K>;
  env: NodeJS.ProcessEnv;
  /** Tests a path, for platform detection. */
  exists: (path: string) => boolean;
  /** Reads a file of the system (/proc/self/mountinfo), for platform detection; null if unreadable. */
  read?: (path: string) => string | null;
  /**
   * Where an option is written when not on the command line (a stack file's key, as
   * "stack.yml: api.ready_timeout"): messages name it so, not by its flag.
   */
  origin?: Partial<Record<K, string>>;
  /** graceful's own pid (1 as a container's entrypoint). */
  pid: number;
}

// graceful run's command line (after `run`) as commander reads it, read without commander:
// the options up to `--` or the first argument that is not one, then the command. Only
// the plain forms are taken (--name value, --name=value, -x value, flags, --no-x); for
// anything else (an unknown option, --help, a missing value, -abc, no command) it returns
// null and commander reads the line, with its own errors. A test holds the two readings
// equal. Why: commander's start-up time and heap at every start (bench/analysis.md,
// "commander off the start path").
export function parseRunArgs<K extends string>(args: readonly string[], specs: readonly OptionSpec<K>[]): { command: string[]; flags: Flags<K> } | null {
  const flags: Flags<K> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args.length > i + 1 ? { command: args.slice(i + 1), flags } : null;
    if (!arg.startsWith('-') || arg === '-') return { command: args.slice(i), flags };
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = specs.find((s) => optionNames(s).includes(name));
    if (!spec) return null;
    if (spec.boolean) {
      if (eq !== -1) return null;
      flags[spec.key] = !spec.flags.includes('--no-');
    } else {
      if (eq === -1 && i + 1 >= args.length) return null;
      const value = eq !== -1 ? arg.slice(eq + 1) : args[++i]!;
      const previous = flags[spec.key];
      flags[spec.key] = spec.repeatable ? [...(Array.isArray(previous) ? previous : []), value] : value;
    }
  }
  return null;
}

// An option's names as typed: ['-t', '--timeout'].
function optionNames(spec: OptionSpec<string>): string[] {
  return spec.flags.split(/[ ,]+/).filter((word) => word.startsWith('-'));
}

// Reads options of `specs` from the command line, else from their GRACEFUL_* variables,
// each value with the name of where it came from, for error messages.
export function reader<K extends string>(specs: readonly OptionSpec<K>[], inputs: Inputs<NoInfer<K>>) {
  const raw = (key: K): { value: FlagValue; from: string } | null => {
    const spec = specs.find((o) => o.key === key)!;
    const flag = inputs.flags[key];
    if (flag !== undefined) return { value: flag, from: inputs.origin?.[key] ?? longFlag(spec) };
    // An empty variable is an unset one (VAR= in a shell or an env file clears it); an
    // empty flag value is a value, and must be valid.
    const fromEnv = inputs.env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: spec.env };
    return null;
  };
  const text = (key: K) => {
    const r = raw(key);
    return r === null ? null : { value: String(r.value), from: r.from };
  };
  // A boolean's variable means what its flag means: GRACEFUL_NO_KILL=1 is --no-kill, which
  // commander stores as kill = false.
  const bool = (key: K): boolean | null => {
    const r = raw(key);
    if (r === null) return null;
    if (typeof r.value === 'boolean') return r.value;
    const v = parseBoolean(String(r.value), r.from);
    return specs.find((o) => o.key === key)!.flags.includes('--no-') ? !v : v;
  };
  const duration = (key: K): number | null => {
    const r = text(key);
    return r ? parseDuration(r.value, r.from) : null;
  };
  const count = (key: K, fallback: number, min: number, max: number): number => {
    const r = text(key);
    if (!r) return fallback;
    const n = /^\d+$/.test(r.value.trim()) ? Number(r.value) : NaN;
    if (!(n >= min && n <= max)) throw new UsageError(r.from, `expected a whole number from ${min} to ${max}, got ${quote(r.value)}`);
    return n;
  };
  // A repeatable option: each value given on the command line, else the variable's
  // space-separated words.
  const list = (key: K): { values: string[]; from: string } | null => {
    const r = raw(key);
    if (r === null) return null;
    if (Array.isArray(r.value)) return { values: r.value, from: r.from };
    // One value given on the command line is one value, empty or not; a variable holds a
    // space-separated list.
    if (r.from.startsWith('-')) return { values: [String(r.value)], from: r.from };
    return { values: String(r.value).split(/\s+/).filter(Boolean), from: r.from };
  };
  // How messages name an option, given or not: as the user would write it.
  const name = (key: K): string => inputs.origin?.[key] ?? longFlag(specs.find((o) => o.key === key)!);
  return { text, bool, duration, count, list, name };
}

// The long flag of an option, as messages name it.
export function longFlag(spec: OptionSpec): string {
  return spec.flags.match(/--[\w-]+/)![0];
}
