// Error classes -> exit status + one line of text. The one top-level catch in main.ts maps
// them; nothing else prints an error or chooses an exit status for graceful's own failures.

import { EXIT } from '../core/exit.js';

// The table of exit statuses lives in core/exit.ts.
export { EXIT };

/** A command line graceful cannot accept; `what` names the option or argument. */
export class UsageError extends Error {
  readonly status = EXIT.usage;
  constructor(
    readonly what: string,
    readonly problem: string,
    readonly help = 'graceful run --help',
  ) {
    super(`${what}: ${problem}`);
  }
  line(): string {
    return `${this.message}; see ${this.help}`;
  }
}

// A value as it goes into a one-line message: quoted, with newlines and control
// characters escaped, so that no input can break the line (or the terminal).
export function quote(value: string): string {
  return JSON.stringify(value);
}
