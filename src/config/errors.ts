// Error classes -> exit status + one line of text. The one top-level catch of each entry
// (entry.ts: failed) maps them; nothing else prints an error or chooses an exit status for
// graceful's own failures.

import { EXIT } from '../core/exit.js';

// The table of exit statuses lives in core/exit.ts.
export { EXIT };

/**
 * A command line graceful cannot accept; `what` names the option or argument. The help it
 * points to is the command's that was run, added by the entry's catch (helpHint).
 */
export class UsageError extends Error {
  readonly status = EXIT.usage;
  constructor(
    readonly what: string,
    readonly problem: string,
  ) {
    super(`${what}: ${problem}`);
  }
  // The one line graceful prints, pointing to `hint` (helpHint).
  line(hint: string): string {
    return `${this.message}; see ${hint}`;
  }
}

const COMMANDS = ['run', 'check', 'reload', 'up', 'ctl'] as const;

// Where a usage error sends the user: the help of the command that was run (graceful check
// -f, a stack check, is graceful up's: `args` is the command line as routed), else the
// program's.
export function helpHint(args: readonly string[]): string {
  const command = COMMANDS.find((c) => c === args[0]);
  return command ? `graceful ${command} --help` : 'graceful --help';
}

// A value as it goes into a one-line message: quoted, with newlines and control
// characters escaped, so that no input can break the line (or the terminal).
export function quote(value: string): string {
  return JSON.stringify(value);
}
