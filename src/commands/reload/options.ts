// graceful reload's options: which running graceful to ask, by its control socket or its pid.
import { reader, type Inputs, type KeyOf, type OptionSpec } from '../../config/args.js';
import { quote, UsageError } from '../../config/errors.js';

/** The options of `graceful reload`. */
export const RELOAD_COMMAND_OPTIONS = [
  { key: 'control', flags: '--control <path>', env: 'GRACEFUL_CONTROL', default: 'the control socket of --pid, else of the only graceful running with reloads on', description: 'the control socket of the graceful to reload (its --control)' },
  { key: 'pid', flags: '--pid <pid>', env: 'MAINPID', default: "$MAINPID (systemd sets it for ExecReload=)", description: "the graceful to reload, by its pid: its default control socket" },
] as const satisfies readonly OptionSpec[];
export type ReloadKey = KeyOf<typeof RELOAD_COMMAND_OPTIONS>;

export interface ReloadCommand {
  control: string | null;
  pid: number | null;
}

// Resolves the options of `graceful reload`: flag, else variable.
export function resolveReloadCommand(inputs: Inputs<ReloadKey>): ReloadCommand {
  const { text } = reader(RELOAD_COMMAND_OPTIONS, inputs);
  const control = text('control');
  if (control && !control.value.startsWith('/')) throw new UsageError(control.from, `expected the absolute path of a Unix socket, got ${quote(control.value)}`);
  const pid = text('pid');
  if (pid && !/^[1-9]\d{0,9}$/.test(pid.value.trim())) throw new UsageError(pid.from, `expected a process id like 4242, got ${quote(pid.value)}`);
  return { control: control?.value ?? null, pid: pid ? Number(pid.value) : null };
}
