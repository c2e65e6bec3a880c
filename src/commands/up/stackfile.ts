// graceful up's file -> the stack, typed and validated before anything starts. Two forms:
// - YAML (or JSON, which is YAML), shaped like a compose or process-compose file: a map of
//   `processes` (or `services`), each with a command, depends_on, ready, env, cwd and every
//   stop option of graceful run, named as in compose where compose has the option
//   (stop_signal, stop_grace_period, environment, working_dir), else as run's flag
//   (--kill-mode: kill_mode). docs/up.md is the reference.
// - a Procfile: `name: command` lines, no dependencies (foreman, honcho, overmind).
// Each process's stop options go through graceful run's own resolution (options.ts), so
// that a value means, and is checked, exactly as the flag is. Every problem is one line
// naming the file, the process and the key (exit status 2).
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { CORE_SCHEMA, load, mergeTag, YAMLException } from 'js-yaml';
import { graphProblem, longestChain, selectProcesses, type Condition, type Dependency, type Graph, type OnExit, type StackProcess } from '../../core/stack.js';
import { quote, UsageError } from '../../config/errors.js';
import { resolveLifecycle, resolveRunOptions, type RunOptions } from '../../config/options.js';
import { formatDuration } from '../../config/parse.js';
import { parse as parseShell } from 'shell-quote';
import { UP_FILES } from '../../config/defaults.js';
import type { UpOptions } from './options.js';

/** One process of the stack, ready to supervise. */
export interface StackEntry {
  name: string;
  /** Its command and stop policy, resolved as graceful run would from the same flags. */
  run: RunOptions;
  /** Variables added to graceful's environment for it. */
  env: Record<string, string>;
  /** Its working directory (absolute), or null for graceful's. */
  cwd: string | null;
  dependsOn: Dependency[];
  onExit: OnExit;
  /** Its run options as graceful run's flags (option key -> value): a process with `listen:` runs under a graceful run of its own, given these. */
  flags: Record<string, string | boolean>;
}

export interface Stack {
  file: string;
  entries: StackEntry[];
  /** The processes in the core's terms. */
  processes: StackProcess[];
  graph: Graph;
  warnings: string[];
}

// Keys of a process that are graceful run's options: the file's name -> run's option key.
// Compose's names for the same things come first.
export const OPTION_KEYS: Record<string, string> = {
  stop_grace_period: 'timeout',
  timeout: 'timeout',
  stop_signal: 'stopSignal',
  kill_signal: 'killSignal',
  kill: 'kill',
  kill_mode: 'killMode',
  pre_stop: 'preStop',
  stop_delay: 'stopDelay',
  sigcont: 'sigcont',
  success_exit_status: 'successExitStatus',
  ready: 'ready',
  ready_timeout: 'readyTimeout',
  restart: 'restart',
  restart_delay: 'restartDelay',
  backoff: 'backoff',
  restart_delay_max: 'restartDelayMax',
  min_uptime: 'minUptime',
  max_restarts: 'maxRestarts',
  restart_window: 'restartWindow',
  max_memory: 'maxMemory',
  monitor_interval: 'monitorInterval',
  // A process graceful holds a socket for (zero-downtime reloads, instances): it runs under a
  // graceful run of its own, which graceful ctl scale and reload reach.
  listen: 'listen',
  instances: 'instances',
};
export const OWN_KEYS = ['command', 'depends_on', 'environment', 'env', 'working_dir', 'cwd', 'on_exit'];
const BOOLEAN_KEYS = new Set(['kill', 'sigcont', 'backoff']);
// The value of a top-level `defaults` applies to every process that does not set it.
const DEFAULTABLE = [...Object.keys(OPTION_KEYS), 'environment', 'env', 'working_dir', 'cwd', 'on_exit'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// A dependency given without a condition, until every process's probe is known (loadStack).
const DEFAULT_CONDITION = 'default' as Condition;

type Raw = Record<string, unknown>;

// Reads and checks the stack file; throws a UsageError (one line) on any problem.
export function loadStack(options: UpOptions): Stack {
  const file = options.file;
  if (file === null) {
    throw new UsageError('graceful up', `no stack file here (looked for ${UP_FILES.join(', ')}); write one (see docs/up.md) or name it with -f`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${options.fileFrom} ${file}`, code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`);
  }
  const base = dirname(resolve(file));
  const raw = /^Procfile/.test(basename(file)) ? readProcfile(file, text) : readYaml(file, text);
  const entries = raw.map((r) => entry(base, r));
  const byName = new Map(entries.map((e) => [e.name, e]));
  const graph: Graph = { names: entries.map((e) => e.name), deps: (n) => byName.get(n)!.dependsOn.map((d) => d.name) };
  const problem = graphProblem(graph);
  if (problem) throw new UsageError(file, problem);
  for (const e of entries) {
    for (const d of e.dependsOn) {
      // Without a condition: ready if the dependency has a ready probe, else started.
      if (d.condition === DEFAULT_CONDITION) d.condition = byName.get(d.name)!.run.ready ? 'ready' : 'started';
      if (d.condition === 'ready' && byName.get(d.name)!.run.ready === null) {
        throw new UsageError(`${file}: ${e.name}.depends_on.${d.name}`, `condition ready, but ${d.name} has no ready probe; give ${d.name} one (ready: tcp:PORT, exec:COMMAND, ...) or use condition started`);
      }
    }
  }
  for (const name of [...options.names, ...(options.exitWith ? [options.exitWith] : [])]) {
    if (!byName.has(name)) {
      throw new UsageError(name === options.exitWith ? '--exit-with' : 'graceful up', `${quote(name)} is not a process of ${file} (${graph.names.join(', ')})`);
    }
  }
  // The processes named on the command line, and what they need; --exit-with's too.
  const wanted = options.names.length > 0 && options.exitWith ? [...options.names, options.exitWith] : options.names;
  const selected = new Set(selectProcesses(graph, wanted));
  const kept = entries.filter((e) => selected.has(e.name));
  const keptGraph: Graph = { names: kept.map((e) => e.name), deps: graph.deps };
  return {
    file,
    entries: kept,
    processes: kept.map((e) => ({ name: e.name, dependsOn: e.dependsOn, restart: e.run.lifecycle.restart, onExit: e.onExit, ready: e.run.ready !== null })),
    graph: keptGraph,
    warnings: budgetWarnings(kept, keptGraph, options),
  };
}

// The grace periods along the longest chain are stopped one after the other: warn when
// they cannot fit in the whole stop's deadline.
function budgetWarnings(entries: StackEntry[], graph: Graph, options: UpOptions): string[] {
  if (options.deadlineMs === null) return [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  // A task that must complete before its dependents start has ended before they stop.
  const running: Graph = { names: graph.names, deps: (n) => byName.get(n)!.dependsOn.filter((d) => d.condition !== 'completed').map((d) => d.name) };
  const { ms, chain } = longestChain(running, (n) => {
    const p = byName.get(n)!.run.policy;
    return p.kill ? p.timeoutMs : null;
  });
  const limit = `the ${formatDuration(options.deadlineMs)} the whole stop has (${options.deadlineFrom})`;
  if (ms === null) {
    const never = entries.filter((e) => !e.run.policy.kill).map((e) => e.name);
    return [`${never.join(', ')} ${never.length > 1 ? 'are' : 'is'} never killed (kill: false): nothing bounds the stop within ${limit}`];
  }
  if (ms <= options.deadlineMs) return [];
  const each = chain.map((n) => `${n} ${formatDuration(byName.get(n)!.run.policy.timeoutMs)}`).join(' + ');
  return [`the grace periods along ${chain.join(' -> ')} (${each}) add up to ${formatDuration(ms)}, more than ${limit}: the last to stop will have less, down to none; shorten their timeouts or raise the deadline`];
}

/** A process as the file gives it, before its values are checked. */
interface RawProcess {
  name: string;
  /** Where it is, for messages: "graceful.yml: api" */
  where: string;
  fields: Raw;
}

function readYaml(file: string, text: string): RawProcess[] {
  let doc: unknown;
  try {
    // The core schema (YAML 1.2: `no` is a string, not false) with merge keys (<<: *defaults),
    // which compose files use.
    doc = load(text, { schema: CORE_SCHEMA.withTags(mergeTag), filename: file });
  } catch (error) {
    if (error instanceof YAMLException) {
      const mark = (error as YAMLException & { mark?: { line: number; column: number } }).mark;
      const at = mark ? `${file}:${mark.line + 1}:${mark.column + 1}` : file;
      throw new UsageError(at, `not valid YAML: ${(error as YAMLException & { reason?: string }).reason ?? error.message.split('\n')[0]}`);
    }
    throw error;
  }
  if (!isMap(doc)) throw new UsageError(file, 'expected a map with processes: (or services:), each a name with its command');
  const top = Object.keys(doc);
  const listKey = top.includes('processes') ? 'processes' : top.includes('services') ? 'services' : null;
  for (const key of top) {
    if (key === 'processes' || key === 'services' || key === 'defaults' || key === 'version' || key === 'name' || key.startsWith('x-')) continue;
    throw new UsageError(`${file}: ${key}`, `not a key of a stack file; the top level has processes: (or services:), defaults: and x- extension fields`);
  }
  if (top.includes('processes') && top.includes('services')) throw new UsageError(file, 'both processes: and services:; use one of them');
  if (!listKey || !isMap(doc[listKey]) || Object.keys(doc[listKey] as Raw).length === 0) {
    throw new UsageError(file, 'no processes; expected processes: (or services:), each a name with its command');
  }
  const defaults = doc.defaults ?? {};
  if (!isMap(defaults)) throw new UsageError(`${file}: defaults`, 'expected a map of options for every process');
  for (const key of Object.keys(defaults)) {
    if (!DEFAULTABLE.includes(norm(key))) throw new UsageError(`${file}: defaults.${key}`, `not an option that applies to every process (${DEFAULTABLE.join(', ')})`);
  }
  return Object.entries(doc[listKey] as Raw).map(([name, value]) => {
    const where = `${file}: ${name}`;
    if (!NAME.test(name)) throw new UsageError(where, 'a process name is letters, digits, and . _ - after the first character');
    // `redis: redis-server --port 6379`: a process that is only a command.
    const fields: Raw = typeof value === 'string' || Array.isArray(value) ? { command: value } : isMap(value) ? value : fail(where, 'expected a map (command:, depends_on:, ready:, ...) or a command');
    const own: Raw = {};
    for (const [k, v] of Object.entries(fields)) own[norm(k)] = v;
    const merged: Raw = {};
    for (const [k, v] of Object.entries(defaults)) merged[norm(k)] = v;
    // env merges with the defaults' env; everything else replaces it.
    const envOf = (r: Raw) => r.env ?? r.environment;
    const env = envOf(merged) !== undefined && envOf(own) !== undefined ? { __merge: [envOf(merged), envOf(own)] } : undefined;
    Object.assign(merged, own);
    if (env) {
      delete merged.environment;
      merged.env = env;
    }
    return { name, where, fields: merged };
  });
}

function readProcfile(file: string, text: string): RawProcess[] {
  const out: RawProcess[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*(#|$)/.test(line)) return;
    const m = /^([A-Za-z0-9_.-]+):\s*(.*)$/.exec(line);
    const where = `${file}:${i + 1}`;
    if (!m || m[2]!.trim() === '') throw new UsageError(where, `expected "name: command", got ${quote(line)}`);
    if (out.some((p) => p.name === m[1])) throw new UsageError(where, `${m[1]} is named twice`);
    out.push({ name: m[1]!, where: `${file}: ${m[1]}`, fields: { command: m[2]!.trim() } });
  });
  if (out.length === 0) throw new UsageError(file, 'no processes; a Procfile has one "name: command" per line');
  return out;
}

// One process: its own keys, then graceful run's resolution of its stop options.
function entry(base: string, raw: RawProcess): StackEntry {
  const { name, where, fields } = raw;
  for (const key of Object.keys(fields)) {
    if (!(key in OPTION_KEYS) && !OWN_KEYS.includes(key)) {
      throw new UsageError(`${where}.${key}`, `not a key of a process; see docs/up.md for the keys (command, depends_on, ready, env, cwd, on_exit, and graceful run's options: ${Object.keys(OPTION_KEYS).join(', ')})`);
    }
  }
  const command = readCommand(`${where}.command`, fields.command);
  const flags: Record<string, string | boolean> = {};
  // Each option named as the file names it, not by its flag: "not ready within 3s
  // (ready_timeout)" on the process's own line, "graceful.yml: db.ready_timeout: ..." in an error.
  const origin: Record<string, string> = {};
  const fromKey: Record<string, string> = {};
  for (const [key, optionKey] of Object.entries(OPTION_KEYS)) {
    origin[optionKey] ??= key;
    const value = fields[key];
    if (value === undefined || value === null) continue;
    if (flags[optionKey] !== undefined) throw new UsageError(`${where}.${key}`, `sets what ${fromKey[optionKey]} already sets; keep one`);
    flags[optionKey] = optionValue(`${where}.${key}`, key, value);
    fromKey[optionKey] = key;
    origin[optionKey] = key;
  }
  // Off a terminal always (the output is piped through graceful), and no per-process
  // platform check: the stack's deadline is checked as a whole (budgetWarnings).
  flags.platformTimeout = '0';
  const inputs = { command, flags, origin, env: {}, exists: () => false, pid: process.pid };
  let run: RunOptions;
  try {
    run = resolveLifecycle(resolveRunOptions(inputs, 'run'), inputs);
  } catch (error) {
    if (error instanceof UsageError && Object.values(origin).includes(error.what)) throw new UsageError(`${where}.${error.what}`, error.problem);
    throw error;
  }
  const env = readEnv(`${where}.env`, fields.env ?? fields.environment);
  const cwdRaw = fields.cwd ?? fields.working_dir;
  let cwd: string | null = null;
  if (cwdRaw !== undefined && cwdRaw !== null) {
    if (typeof cwdRaw !== 'string' || cwdRaw === '') throw new UsageError(`${where}.cwd`, `expected a directory, got ${quote(String(cwdRaw))}`);
    cwd = resolve(base, cwdRaw);
    let isDir = false;
    try {
      isDir = statSync(cwd).isDirectory();
    } catch {
      // missing
    }
    if (!isDir) throw new UsageError(`${where}.cwd`, `${cwd} is not a directory`);
  }
  return {
    name,
    run: { ...run, terminal: false, reportFile: null, warnings: run.warnings.map((w) => `${name}: ${w}`) },
    env,
    cwd,
    dependsOn: readDeps(where, fields.depends_on),
    onExit: readOnExit(`${where}.on_exit`, fields.on_exit),
    flags,
  };
}

// Control operators: a line that has one outside quotes is several commands (or a pipeline),
// which only sh can run. Redirections (<, >, 2>&1) are not among them: `exec` takes them.
const CONTROL = new Set(['||', '&&', ';;&', ';;', ';&', '|&', '<(', '>(', '&', ';', '(', ')', '|']);

// A command: a list is the argv, run directly; a string is a shell line, read as sh reads
// it (quotes and backslashes, by shell-quote): run directly when its words need no shell,
// through `sh -c 'exec LINE'` when it is one command that needs the shell for its words
// ($VAR, ~, globs, redirections), so that the program itself gets the signals and its exit
// status is its own (dash does not exec the last command of -c), and `sh -c LINE` when it is
// several (;, &&, |, ...) or starts with a keyword or an assignment.
export function readCommand(where: string, value: unknown): string[] {
  if (value === undefined || value === null) throw new UsageError(where, 'missing: the program to run, as a line (node app.js) or a list ([node, app.js])');
  if (Array.isArray(value)) {
    if (value.length === 0 || value.some((w) => typeof w !== 'string' && typeof w !== 'number')) {
      throw new UsageError(where, 'expected a list of words, like [node, app.js]');
    }
    if (String(value[0]) === '') throw new UsageError(where, 'the program is an empty word');
    return value.map(String);
  }
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(where, `expected a command line or a list of words, got ${quote(String(value))}`);
  const line = value.trim();
  // Unbalanced quotes (shell-quote reads past them): sh says what it makes of them.
  if (!quotesBalanced(line)) return ['sh', '-c', line];
  let expands = false;
  const words = parseShell(line, (name) => {
    expands = true;
    return `$${name}`;
  });
  const several = words.some((w) => typeof w === 'object' && ('comment' in w || ('op' in w && CONTROL.has((w as { op: string }).op)))) || /\n/.test(line);
  // A keyword, a grouping or an assignment first: the shell's own syntax, run as written.
  if (several || /^(\w+=|(if|for|while|until|case|exec|!|\{)(\s|$))/.test(line)) return ['sh', '-c', line];
  // Command substitution and tilde expansion, which shell-quote leaves as they are.
  const needsShell = expands || /`|\$\(/.test(line) || /(^|\s)~/.test(line) || words.some((w) => typeof w !== 'string');
  if (needsShell) return ['sh', '-c', `exec ${line}`];
  return words as string[];
}

// Whether every quote of a shell line is closed ('...' takes everything; "..." and the
// line's words take backslash escapes).
function quotesBalanced(line: string): boolean {
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') i++;
    else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') quote = c;
  }
  return quote === null;
}

// A value of one of graceful run's options: as the flag would take it.
function optionValue(where: string, key: string, value: unknown): string | boolean {
  if (BOOLEAN_KEYS.has(key)) {
    if (typeof value === 'boolean') return value;
    throw new UsageError(where, `expected true or false, got ${quote(String(value))}`);
  }
  if (key === 'restart') {
    if (value === false) return 'no';
    // compose's unless-stopped is always here: a stop request is final either way.
    if (value === 'unless-stopped') return 'always';
  }
  if (key === 'ready' && isMap(value)) {
    // ready: { exec: pg_isready }, { tcp: 5432 }, { http: http://... }, { log: ^ready }
    const entries = Object.entries(value);
    if (entries.length !== 1) throw new UsageError(where, 'expected one probe, like exec: pg_isready or tcp: 5432');
    const [kind, arg] = entries[0]!;
    if (kind === 'http') return String(arg);
    if ((kind === 'ipc' || kind === 'notify') && arg === true) return kind;
    return `${kind}:${String(arg)}`;
  }
  if (key === 'success_exit_status' && Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new UsageError(where, `expected a value like the flag --${key.replace(/_/g, '-')} takes, got ${quote(JSON.stringify(value))}`);
}

// env: a map (KEY: value) or a list (KEY=value), as compose takes; defaults' env merged under.
function readEnv(where: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (isMap(value) && Array.isArray(value.__merge)) {
    return Object.assign({}, ...value.__merge.map((v) => readEnv(where, v)));
  }
  const out: Record<string, string> = {};
  const set = (k: string, v: unknown) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new UsageError(where, `${quote(k)} is not a variable name`);
    if (v !== null && typeof v === 'object') throw new UsageError(`${where}.${k}`, 'expected a string, a number or a boolean');
    out[k] = v === null || v === undefined ? '' : String(v);
  };
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq <= 0) throw new UsageError(where, `expected KEY=value, got ${quote(text)}`);
      set(text.slice(0, eq), text.slice(eq + 1));
    }
    return out;
  }
  if (!isMap(value)) throw new UsageError(where, 'expected a map (KEY: value) or a list (KEY=value)');
  for (const [k, v] of Object.entries(value)) set(k, v);
  return out;
}

const CONDITIONS: Record<string, Condition> = {
  started: 'started',
  ready: 'ready',
  healthy: 'ready',
  log_ready: 'ready',
  completed: 'completed',
  completed_successfully: 'completed',
};

// depends_on: a list of names, or a map of name -> condition (or { condition, restart }).
// Compose's service_* and process-compose's process_* spellings are understood. Without a
// condition: ready if the dependency has a ready probe, else started (fixed up in resolve).
function readDeps(where: string, value: unknown): Dependency[] {
  if (value === undefined || value === null) return [];
  const at = `${where}.depends_on`;
  const parse = (name: string, spec: unknown): Dependency => {
    if (typeof name !== 'string' || name === '') throw new UsageError(at, 'expected process names');
    let condition: unknown = spec;
    let restart: unknown = false;
    if (isMap(spec)) {
      for (const key of Object.keys(spec)) if (key !== 'condition' && key !== 'restart' && key !== 'required') throw new UsageError(`${at}.${name}.${key}`, 'expected condition: and restart:');
      condition = spec.condition;
      restart = spec.restart ?? false;
    }
    if (typeof restart !== 'boolean') throw new UsageError(`${at}.${name}.restart`, `expected true or false, got ${quote(String(restart))}`);
    if (condition === undefined || condition === null || condition === true) return { name, condition: DEFAULT_CONDITION, restart };
    const key = String(condition).toLowerCase().replace(/-/g, '_').replace(/^(service|process)_/, '');
    const c = CONDITIONS[key];
    if (!c) throw new UsageError(`${at}.${name}`, `unknown condition ${quote(String(condition))}; expected started, ready or completed (compose's service_started, service_healthy, service_completed_successfully also do)`);
    return { name, condition: c, restart };
  };
  if (Array.isArray(value)) return value.map((n) => parse(String(n), null));
  if (typeof value === 'string') return [parse(value, null)];
  if (isMap(value)) return Object.entries(value).map(([n, spec]) => parse(n, spec));
  throw new UsageError(at, 'expected a list of names or a map of name: condition');
}

function readOnExit(where: string, value: unknown): OnExit {
  if (value === undefined || value === null) return 'stop-on-failure';
  const v = String(value).toLowerCase().replace(/_/g, '-');
  if (v === 'stop' || v === 'continue' || v === 'stop-on-failure') return v;
  throw new UsageError(where, `expected stop (the stack stops when it ends), stop-on-failure (when it fails: the default) or continue, got ${quote(String(value))}`);
}


function norm(key: string): string {
  return key.toLowerCase().replace(/-/g, '_');
}

function isMap(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, problem: string): never {
  throw new UsageError(where, problem);
}
