// graceful up: every line a process writes, with its name in front, on graceful's own
// stdout or stderr (stdout for its stdout, stderr for its stderr: kept apart). Byte for
// byte: the child's bytes pass through untouched (nothing decoded, nothing dropped); only
// the name goes in front of each line. With backpressure: a reader that stops reading slows
// the children that write to it (their pipes fill up), never graceful's event loop or its
// memory (the writes go through output.ts, off the event loop).
import { Writable } from 'node:stream';

// A line still open (no newline yet) is held this long for the rest of it, then written as it
// is: a prompt ("Password: ") or a progress bar must show, and several processes must not
// run into each other's half lines.
const PARTIAL_FLUSH_MS = 100;
// A line longer than this is passed on in pieces (a child printing a megabyte without a
// newline must not make graceful hold it).
const MAX_HELD = 64 * 1024;

const NEWLINE = 0x0a;
const EOL = Buffer.from('\n');

// One destination (graceful's stdout or stderr) shared by the processes' streams: whose line
// is open on it, so that another's line starts on a line of its own.
export class Lines {
  /** The stream whose partial line was written last without its newline. */
  open: PrefixedStream | null = null;

  constructor(readonly dest: Writable) {}

  // A stream for one process's stdout or stderr, each of its lines after `prefix`.
  stream(prefix: string): PrefixedStream {
    return new PrefixedStream(this, Buffer.from(prefix));
  }
}

export class PrefixedStream extends Writable {
  #held: Buffer[] = [];
  #heldBytes = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly lines: Lines,
    private readonly prefix: Buffer,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const parts: Buffer[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
      this.#line(parts, chunk.subarray(from, nl + 1));
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.#held.push(chunk.subarray(from));
      this.#heldBytes += chunk.length - from;
    }
    if (this.#heldBytes >= MAX_HELD) this.#flushHeld(parts);
    this.#send(parts, done);
    this.#armFlush();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#stopTimer();
    const parts: Buffer[] = [];
    // The last line without its newline gets one: the next line written is another's.
    if (this.#heldBytes > 0) this.#line(parts, Buffer.concat([...this.#held.splice(0), EOL]));
    else if (this.lines.open === this) {
      parts.push(EOL);
      this.lines.open = null;
    }
    this.#heldBytes = 0;
    this.#send(parts, done);
  }

  // A whole line (ending in a newline), after what was held of it.
  #line(parts: Buffer[], line: Buffer): void {
    this.#start(parts);
    if (this.#heldBytes > 0) {
      parts.push(...this.#held.splice(0));
      this.#heldBytes = 0;
    }
    parts.push(line);
    if (this.lines.open === this) this.lines.open = null;
  }

  // What is held of an open line, written now without its newline; the line stays open.
  #flushHeld(parts: Buffer[]): void {
    if (this.#heldBytes === 0) return;
    this.#start(parts);
    parts.push(...this.#held.splice(0));
    this.#heldBytes = 0;
    this.lines.open = this;
  }

  // The beginning of a line of ours: another stream's open line is closed first; our own
  // open line goes on without a second prefix.
  #start(parts: Buffer[]): void {
    const open = this.lines.open;
    if (open === this) return;
    if (open !== null) {
      parts.push(EOL);
      this.lines.open = null;
    }
    parts.push(this.prefix);
  }

  #send(parts: Buffer[], done: (error?: Error | null) => void): void {
    const { dest } = this.lines;
    // A closed stdout (EPIPE): the bytes go nowhere, and the child must not block on them.
    if (parts.length === 0 || dest.destroyed) return done();
    if (dest.write(parts.length === 1 ? parts[0] : Buffer.concat(parts))) return done();
    // Until it takes more, or breaks (EPIPE: closed): the child must not wait for ever.
    const go = () => {
      dest.off('drain', go);
      dest.off('close', go);
      done();
    };
    dest.once('drain', go);
    dest.once('close', go);
  }

  #armFlush(): void {
    if (this.#heldBytes === 0) return this.#stopTimer();
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const parts: Buffer[] = [];
      this.#flushHeld(parts);
      this.#send(parts, () => {});
    }, PARTIAL_FLUSH_MS);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

// The names, aligned: each padded to the longest, then the separator ('|' for stdout, '!'
// for stderr, so that merged logs still tell them apart), coloured when `color` gives one.
export function prefixes(names: readonly string[], color: ((i: number, text: string) => string) | null): { out: Record<string, string>; err: Record<string, string> } {
  const width = Math.max(...names.map((n) => n.length));
  const out: Record<string, string> = {};
  const err: Record<string, string> = {};
  names.forEach((name, i) => {
    const padded = name.padEnd(width);
    const paint = (t: string) => (color ? color(i, t) : t);
    out[name] = `${paint(`${padded} |`)} `;
    err[name] = `${paint(`${padded} !`)} `;
  });
  return { out, err };
}
