// graceful up's voice on stderr, one for the whole stack: "graceful: api: ..." lines, and
// on a terminal, while the stack stops, a live area of one row per process (its stop state
// and countdown) below the scrolling output, as run's countdown line (shell/ui/display.ts). The
// supervisors' lines come through ProcessUi, one per process, in place of their own Ui.
import { isatty } from 'node:tty';
import { noPaint, stepRecords, type Fields, type LogEvent, type LogLine, type Paint } from '../../report/human.js';
import { jsonLine, type LogFormat } from '../../report/log.js';
import type { Action, Event, State } from '../../core/types.js';
import { say } from '../../shell/ui/output.js';
import { Ui, type UiOptions } from '../../shell/ui/display.js';

// As run's countdown (shell/ui/display.ts): the rows change once a second; redrawn a little more often.
const REDRAW_MS = 250;

// Basic colours for the names, in turn (chalk level 1, as run's lines).
const NAME_COLORS = ['cyan', 'yellow', 'green', 'magenta', 'blue', 'red'] as const;

export interface StackUiOptions {
  quiet: boolean;
  verbose: boolean;
  /** --log-format json: each line one JSON object, `program` the process's name (null: the stack's own line); no live area. */
  logFormat?: LogFormat;
}

export class StackUi {
  // The same rule as run (shell/ui/display.ts): a terminal that can move the cursor, colour unless NO_COLOR.
  readonly tty: boolean;
  readonly #json: boolean;
  #paint: Paint = noPaint;
  #names: ((i: number, text: string) => string) | null = null;
  #rows: (() => string[]) | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Terminal rows while the scroll region is set, and how many of them the live area takes. */
  #screen = 0;
  #area = 0;
  #drawn: string[] = [];

  constructor(readonly options: StackUiOptions) {
    this.#json = options.logFormat === 'json';
    this.tty = !this.#json && isatty(2) && process.env.TERM !== 'dumb';
  }

  // Loads the colours (chalk) when they apply: graceful's lines on a terminal; the names in
  // front of the children's lines when that stream (stdout or stderr) is a terminal.
  async colors(): Promise<{ out: ((i: number, t: string) => string) | null; err: ((i: number, t: string) => string) | null }> {
    const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
    const term = process.env.TERM !== 'dumb';
    const outTty = isatty(1) && term && !noColor;
    const errTty = this.tty && !noColor;
    // The programs' own lines keep their names in front, uncoloured, in a JSON log (they are not graceful's).
    if (!outTty && !errTty) return { out: null, err: null };
    const { Chalk } = await import('chalk');
    const c = new Chalk({ level: 1 });
    if (errTty) this.#paint = { good: c.green, warn: c.yellow, bad: c.red, dim: c.dim };
    this.#names = (i, t) => c[NAME_COLORS[i % NAME_COLORS.length]!](t);
    return { out: outTty ? this.#names : null, err: errTty ? this.#names : null };
  }

  get paint(): Paint {
    return this.#paint;
  }

  /** A line of commentary, about one process (`name`) or the stack; silent with --quiet. `event` and `fields`: its name and figures in the JSON log. */
  info(name: string | null, text: string, event: LogEvent = 'note', fields: Fields = {}): void {
    if (!this.options.quiet) this.line(name, { event, level: 'info', text, fields });
  }

  warn(name: string | null, text: string, event: LogEvent = 'warning', fields: Fields = {}): void {
    if (!this.options.quiet) this.line(name, { event, level: 'warn', text, fields }, `${this.#paint.warn('warning:')} ${text}`);
  }

  /** Errors print even with --quiet. */
  error(name: string | null, text: string, event: LogEvent = 'error', fields: Fields = {}): void {
    this.line(name, { event, level: 'error', text, fields }, this.#paint.bad(text));
  }

  /** One line about `name` (null: the stack): its words (`text`, as painted), or the line as JSON. */
  line(name: string | null, line: LogLine, text = line.text): void {
    if (this.#json) return say(jsonLine(line, name, Date.now()));
    this.#write(name, text);
  }

  /** Shows `rows()` in the live area (a terminal only) until close(), redrawn as time passes. */
  live(rows: () => string[]): void {
    if (!this.tty || this.options.quiet || this.#rows) return;
    this.#rows = rows;
    this.#redraw();
    this.#timer = setInterval(() => this.#redraw(), REDRAW_MS);
  }

  /** Redraws the live area now (a process changed state). */
  update(): void {
    if (this.#rows) this.#redraw();
  }

  /** Ends the live area; the summaries follow. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#rows = null;
    if (this.#screen) {
      // Give the whole screen back and blank the rows the area used.
      let clear = '';
      for (let r = this.#screen - this.#area + 1; r <= this.#screen; r++) clear += `\x1b[${r};1H\x1b[2K`;
      say(`\x1b7\x1b[r${clear}\x1b8`);
      process.stderr.off('resize', this.#onResize);
    }
    this.#screen = 0;
    this.#area = 0;
    this.#drawn = [];
  }

  // The rows sit at the bottom of the terminal, below a scroll region holding the rest:
  // the children's lines and graceful's scroll above them instead of running into them.
  #redraw(): void {
    if (!this.#rows) return;
    const screen = process.stderr.rows ?? 0;
    const width = Math.max(20, (process.stderr.columns ?? 80) - 1);
    if (screen < 4) return;
    const all = this.#rows();
    // At most half the screen: the output above must stay readable.
    const max = Math.max(1, Math.floor(screen / 2));
    const rows = (all.length > max ? [...all.slice(0, max - 1), `... and ${all.length - max + 1} more`] : all).map((r) => fit(r, width));
    if (this.#screen !== screen || this.#area !== rows.length) {
      if (this.#screen) say('\x1b7\x1b[r\x1b8');
      else process.stderr.on('resize', this.#onResize);
      // Make room below the cursor, confine scrolling above the area, cursor back.
      say(`${'\n'.repeat(rows.length)}\x1b[${rows.length}A\x1b7\x1b[1;${screen - rows.length}r\x1b8`);
      this.#screen = screen;
      this.#area = rows.length;
      this.#drawn = [];
    }
    if (rows.every((r, i) => r === this.#drawn[i])) return;
    let out = '\x1b7';
    rows.forEach((r, i) => {
      out += `\x1b[${screen - rows.length + 1 + i};1H\x1b[2K${i === 0 ? `${this.#paint.dim('graceful:')} ${r}` : `  ${r}`}`;
    });
    say(`${out}\x1b8`);
    this.#drawn = rows;
  }

  readonly #onResize = (): void => {
    if (!this.#screen) return;
    // Blank the old area, then draw again at the new size.
    say(`\x1b7\x1b[r\x1b[${this.#screen};1H\x1b[2K\x1b8`);
    this.#screen = -1;
    this.#redraw();
  };

  #write(name: string | null, text: string): void {
    say(`${this.#paint.dim('graceful:')} ${name === null ? '' : `${name}: `}${text}\n`);
  }
}

// One row, never wrapped (a wrap inside the area would scroll the whole screen).
function fit(row: string, width: number): string {
  const room = width - 'graceful: '.length;
  return row.length > room ? `${row.slice(0, room - 3)}...` : row;
}

// A supervisor's Ui in a stack: its lines go to the stack's display, prefixed with its
// name; on a terminal it draws no countdown of its own (the stack's live area shows it).
export class ProcessUi extends Ui {
  #state: State | null = null;

  constructor(
    private readonly display: StackUi,
    readonly name: string,
    private readonly opts: UiOptions,
    now: () => number,
    private readonly changed: () => void,
  ) {
    // quiet for the base: it must draw nothing itself.
    super({ ...opts, quiet: true, steps: false }, now);
  }

  /** The machine's latest state (the live area reads it). */
  get state(): State | null {
    return this.#state;
  }

  override info(text: string, event?: LogEvent, fields?: Fields): void {
    this.display.info(this.name, text, event, fields);
  }

  override warn(text: string, event?: LogEvent, fields?: Fields): void {
    this.display.warn(this.name, text, event, fields);
  }

  override error(text: string, event?: LogEvent, fields?: Fields): void {
    this.display.error(this.name, text, event, fields);
  }

  override step(prev: State, event: Event, next: State, actions: readonly Action[]): void {
    this.#state = next;
    if (!this.opts.quiet && (!this.display.tty || this.opts.verbose)) {
      for (const line of stepRecords(prev, event, next, actions, this.opts.policy, this.opts.verbose)) this.display.line(this.name, line);
    }
    this.changed();
  }

  override close(): void {}

  override get paint(): Paint {
    return this.display.paint;
  }
}
