// graceful ctl's command line: which graceful up to ask (--pid, --control), and what: a
// command word, the process's name, and scale's count. Parsing only (loaded with commander).
import { reader, type Inputs, type KeyOf, type OptionSpec } from '../../config/args.js';
import { quote, UsageError } from '../../config/errors.js';

/** The options of `graceful ctl`. */
export const CTL_OPTIONS = [
  { key: 'control', flags: '--control <path>', env: 'GRACEFUL_UP_CONTROL', default: 'the control socket of --pid, else of the only graceful up running', description: "the control socket of the graceful up to steer" },
  { key: 'pid', flags: '--pid <pid>', env: 'GRACEFUL_UP_PID', default: 'none', description: 'the graceful up to steer, by its pid' },
  { key: 'withDependents', flags: '--with-dependents', env: 'GRACEFUL_WITH_DEPENDENTS', default: 'off', boolean: true, description: 'stop: stop the processes that depend on it first (in reverse order), rather than refuse' },
] as const satisfies readonly OptionSpec[];
export type CtlKey = KeyOf<typeof CTL_OPTIONS>;

/** The commands of graceful ctl, with what each takes. */
export const CTL_COMMANDS = {
  status: { operands: [], does: 'each process: its state, pid, readiness, uptime, restarts' },
  start: { operands: ['name'], does: 'start it (and what it needs that graceful ctl stopped), once its dependencies meet their conditions' },
  stop: { operands: ['name'], does: 'stop it through its stop sequence and hold it (not restarted); refused while processes that depend on it run, unless --with-dependents' },
  restart: { operands: ['name'], does: 'stop it and start it again; its dependents marked restart: true stop first and follow it, the others wait' },
  scale: { operands: ['name', 'count'], does: 'run COUNT instances of a process with listen: (new slots start at once; the highest slots are retired, each through its stop sequence)' },
  reload: { operands: ['name'], does: 'a zero-downtime reload of a process with listen: (its instances replaced one at a time)' },
} as const;
export type CtlCommandName = keyof typeof CTL_COMMANDS;

export interface CtlCommand {
  command: CtlCommandName;
  name: string | null;
  count: number | null;
  withDependents: boolean;
  control: string | null;
  pid: number | null;
}

// Resolves graceful ctl's operands and options: one line naming what is wrong otherwise.
export function resolveCtlCommand(inputs: Inputs<CtlKey>): CtlCommand {
  const { text, bool } = reader(CTL_OPTIONS, inputs);
  const [word, ...rest] = inputs.command;
  const names = Object.keys(CTL_COMMANDS);
  if (!word) throw new UsageError('ctl', `which command? one of ${names.join(', ')}`);
  if (!Object.hasOwn(CTL_COMMANDS, word)) throw new UsageError('ctl', `expected one of ${names.join(', ')}, got ${quote(word)}`);
  const command = word as CtlCommandName;
  const wants = CTL_COMMANDS[command].operands as readonly string[];
  if (rest.length !== wants.length) throw new UsageError(`ctl ${command}`, wants.length === 0 ? `takes no operand, got ${quote(rest.join(' '))}` : `expected ${wants.map((w) => w.toUpperCase()).join(' ')}, got ${quote(rest.join(' '))}`);
  let count: number | null = null;
  if (command === 'scale') {
    const raw = rest[1]!;
    if (!/^[1-9]\d{0,3}$/.test(raw)) throw new UsageError('ctl scale', `expected a number of instances from 1 to 1024, got ${quote(raw)}`);
    count = Number(raw);
  }
  const control = text('control');
  if (control && !control.value.startsWith('/')) throw new UsageError(control.from, `expected the absolute path of a Unix socket, got ${quote(control.value)}`);
  const pid = text('pid');
  if (pid && !/^[1-9]\d{0,9}$/.test(pid.value.trim())) throw new UsageError(pid.from, `expected a process id like 4242, got ${quote(pid.value)}`);
  const withDependents = bool('withDependents') ?? false;
  if (withDependents && command !== 'stop') throw new UsageError('--with-dependents', `applies to stop only, not ${command}`);
  return { command, name: rest[0] ?? null, count, withDependents, control: control?.value ?? null, pid: pid ? Number(pid.value) : null };
}
