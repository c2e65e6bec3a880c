// graceful's own voice, on stderr only (stdout belongs to the child). On a terminal: one
// live countdown line while stopping, colours unless NO_COLOR. Elsewhere: plain step lines.
import { noPaint, statusLine, stepLines, type Paint } from '../report/human.js';
import type { Action, Event, Policy, State } from '../core/types.js';

// How often the countdown line is redrawn; it only changes once a second, but redrawing a
// little more often keeps it from lagging a whole second behind.
const REDRAW_MS = 250;

export interface UiOptions {
  quiet: boolean;
  verbose: boolean;
  policy: Policy;
}

export class Ui {
  readonly tty = process.stderr.isTTY === true;
  #paint: Paint = noPaint;
  #live: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #state: State | null = null;

  constructor(
    private readonly options: UiOptions,
    private readonly now: () => number,
  ) {
    // A closed or full stderr (EPIPE, EIO after a hang-up) must never take graceful down:
    // the child is still supervised, only the commentary is lost.
    process.stderr.on('error', () => {});
    if (this.tty && !process.env.NO_COLOR) {
      // Loaded off the start path; until it arrives (it takes a few ms) lines are plain.
      import('chalk').then(
        ({ chalkStderr: c }) => {
          this.#paint = { good: c.green, warn: c.yellow, bad: c.red, dim: c.dim };
        },
        () => {},
      );
    }
  }

  /** A line of commentary; silent with --quiet. */
  info(text: string): void {
    if (!this.options.quiet) this.#write(text);
  }

  warn(text: string): void {
    if (!this.options.quiet) this.#write(`${this.#paint.warn('warning:')} ${text}`);
  }

  /** Errors print even with --quiet. */
  error(text: string): void {
    this.#write(this.#paint.bad(text));
  }

  /** Follows the machine: step lines off a terminal, the countdown on one. */
  step(prev: State, event: Event, next: State, actions: readonly Action[]): void {
    this.#state = next;
    if (this.options.quiet) return;
    if (!this.tty || this.options.verbose) {
      for (const line of stepLines(prev, event, next, actions, this.options.policy, this.options.verbose)) this.#write(line);
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

  #redraw(): void {
    const text = this.#state ? statusLine(this.#state, this.options.policy, this.now()) : null;
    if (text === this.#live) return;
    if (text === null) return this.#clearLive();
    this.#live = text;
    process.stderr.write(`\r\x1b[K${this.#paint.dim('graceful:')} ${text}`);
  }

  #clearLive(): void {
    if (this.#live === null) return;
    this.#live = null;
    process.stderr.write('\r\x1b[K');
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #write(text: string): void {
    const live = this.#live;
    this.#clearLive();
    process.stderr.write(`${this.#paint.dim('graceful:')} ${text}\n`);
    if (live !== null) this.#redraw();
  }
}
