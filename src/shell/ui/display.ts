// graceful's own voice, on stderr only (stdout belongs to the child). On a terminal: one
// live countdown line while stopping, colours unless NO_COLOR. Elsewhere: plain step lines.
import { describeCommand, noPaint, statusLine, stepRecords, type Fields, type LogEvent, type LogLine, type Paint } from '../../report/human.js';
import { jsonLine, type LogFormat } from '../../report/log.js';
import type { Action, Event, Policy, State } from '../../core/types.js';
import { isatty } from 'node:tty';
import { say } from './output.js';

// How often the countdown line is redrawn; it only changes once a second, but redrawing a
// little more often keeps it from lagging a whole second behind.
const REDRAW_MS = 250;

export interface UiOptions {
  quiet: boolean;
  verbose: boolean;
  policy: Policy;
  /** Print a line per step off a terminal (graceful run); graceful check prints its checklist instead. */
  steps?: boolean;
  /** --log-format: json writes each line as one JSON object (report/log.ts), and no live line. */
  logFormat?: LogFormat;
  /** Whom the lines are about, in the JSON log's `program` (the command, or a stack's name for it). */
  program?: string | null;
  /** Put in front of each line, after "graceful:": which instance a line is about (--instances). */
  label?: string;
}

export class Ui {
  // isatty(2), not process.stderr.isTTY: creating the stderr stream costs start-up time,
  // and graceful writes through output.ts anyway. TERM=dumb (Emacs shell buffers, some
  // CI log viewers) is a terminal that cannot move the cursor: it gets plain step lines.
  readonly tty: boolean;
  /** --log-format json: the program the lines are about; undefined for human lines. */
  readonly #json: string | null | undefined;
  #paint: Paint = noPaint;
  #live: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #state: State | null = null;
  /** Terminal rows while the scroll region is set, else 0. */
  #rows = 0;

  constructor(
    private readonly options: UiOptions,
    private readonly now: () => number,
  ) {
    // A JSON log is for machines: no countdown line, no colour, on a terminal too.
    this.#json = options.logFormat === 'json' ? (options.program ?? null) : undefined;
    this.tty = this.#json === undefined && isatty(2) && process.env.TERM !== 'dumb';
    if (this.tty && !process.env.NO_COLOR) {
      // Loaded off the start path; until it arrives (it takes a few ms) lines are plain.
      // The rule is ours (a terminal, and NO_COLOR unset), not chalk's guess: chalk turns
      // colour off whenever CI is set, even on a real terminal. Four basic colours need
      // no more than level 1.
      import('chalk').then(
        ({ Chalk }) => {
          const c = new Chalk({ level: 1 });
          this.#paint = { good: c.green, warn: c.yellow, bad: c.red, dim: c.dim };
        },
        () => {},
      );
    }
  }

  /** A line of commentary; silent with --quiet. `event` and `fields` are its name and figures in the JSON log. */
  info(text: string, event: LogEvent = 'note', fields: Fields = {}): void {
    if (!this.options.quiet) this.#line({ event, level: 'info', text, fields });
  }

  warn(text: string, event: LogEvent = 'warning', fields: Fields = {}): void {
    if (!this.options.quiet) this.#line({ event, level: 'warn', text, fields });
  }

  /** Errors print even with --quiet. */
  error(text: string, event: LogEvent = 'error', fields: Fields = {}): void {
    this.#line({ event, level: 'error', text, fields });
  }

  // One line of commentary: its words (a warning says so, an error in red), or the line as JSON.
  #line(line: LogLine): void {
    this.#write(line.level === 'warn' ? `${this.#paint.warn('warning:')} ${line.text}` : line.level === 'error' ? this.#paint.bad(line.text) : line.text, line);
  }

  /** Follows the machine: step lines off a terminal, the countdown on one. */
  step(prev: State, event: Event, next: State, actions: readonly Action[]): void {
    this.#state = next;
    if (this.options.quiet) return;
    if ((!this.tty && this.options.steps !== false) || this.options.verbose) {
      for (const line of stepRecords(prev, event, next, actions, this.options.policy, this.options.verbose)) this.#write(line.text, line);
    }
    if (this.tty) {
      this.#redraw();
      const stopping = next.facts.stop !== null && next.phase.kind !== 'done';
      if (stopping && !this.#timer) this.#timer = setInterval(() => this.#redraw(), REDRAW_MS);
      if (!stopping) this.#stopTimer();
    }
  }

  /** Ends the live line; the summary follows. */
  close(): void {
    this.#stopTimer();
    this.#clearLive();
  }

  get paint(): Paint {
    return this.#paint;
  }

  /** --log-format json: a line's fields are written; human lines have no use for them. */
  get json(): boolean {
    return this.#json !== undefined;
  }

  // The live line sits on the terminal's last row, below a scroll region holding the rest
  // (as apt draws its progress bar): the child keeps writing to the same terminal while it
  // shuts down, and its lines scroll above the countdown instead of running into it.
  #redraw(): void {
    const status = this.#state ? statusLine(this.#state, this.options.policy, this.now()) : null;
    const text = status && this.#fit(status);
    if (text === this.#live) return;
    if (text === null) return this.#clearLive();
    const rows = process.stderr.rows ?? 0;
    if (this.#rows === 0 && rows >= 3) {
      this.#rows = rows;
      // Make room below the cursor, confine scrolling to the rows above the last, then put
      // the cursor back where it was (setting a region homes it).
      say(`\n\x1b7\x1b[1;${rows - 1}r\x1b8\x1b[1A`);
      process.stderr.on('resize', this.#onResize);
    }
    this.#live = text;
    const line = `${this.#paint.dim('graceful:')} ${text}`;
    say(this.#rows ? `\x1b7\x1b[${this.#rows};1H\x1b[2K${line}\x1b8` : `\r\x1b[K${line}`);
  }

  // One row, never wrapped (a wrap on the last row scrolls the whole screen): the command
  // is shortened first (never in the middle of its program's or script's name while there
  // is room for them), so the countdown stays whole.
  #fit({ command, pid, what }: { command: readonly string[]; pid: number | null; what: string }): string {
    const room = Math.max(20, (process.stderr.columns ?? 80) - 'graceful: '.length - 1);
    const tail = ` (pid ${pid}): ${what}`;
    const cmdRoom = room - 'stopping '.length - tail.length;
    const cmd = cmdRoom >= 6 ? describeCommand(command, cmdRoom) : '...';
    const text = `stopping ${cmd}${tail}`;
    return text.length > room ? `${text.slice(0, room - 3)}...` : text;
  }

  readonly #onResize = (): void => {
    const rows = process.stderr.rows ?? 0;
    if (!this.#rows || rows < 3 || rows === this.#rows) return;
    // Clear the old status row, move the region to the new size, draw again.
    say(`\x1b7\x1b[${this.#rows};1H\x1b[2K\x1b[1;${rows - 1}r\x1b8`);
    this.#rows = rows;
    this.#live = null;
    this.#redraw();
  };

  #clearLive(): void {
    if (this.#rows) {
      // Give the whole screen back and blank the status row.
      say(`\x1b7\x1b[r\x1b[${this.#rows};1H\x1b[2K\x1b8`);
      process.stderr.off('resize', this.#onResize);
      this.#rows = 0;
    } else if (this.#live !== null) {
      say('\r\x1b[K');
    }
    this.#live = null;
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #write(text: string, line?: LogLine): void {
    if (line && this.#json !== undefined) return say(jsonLine(line, this.#json, Date.now()));
    // With the scroll region set, the cursor is inside it and lines scroll above the
    // status row; with the plain \r line, the status line is erased first and redrawn.
    const redraw = this.#live !== null && this.#rows === 0;
    if (redraw) this.#clearLive();
    say(`${this.#paint.dim('graceful:')} ${this.options.label ? `${this.options.label}: ` : ''}${text}\n`);
    if (redraw) this.#redraw();
  }
}
