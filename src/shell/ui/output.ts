// graceful's own writes to stderr, and the relay of the child's output (--ready log:). Never
// a write that waits on the event loop: Node writes to a pipe or a terminal synchronously,
// so a reader that stops reading (a full pipe, a terminal paused with Ctrl+S) would freeze
// graceful, its timers and its signal handling with it. Making the descriptor non-blocking
// is not an option: O_NONBLOCK belongs to the open file description, which the child
// shares, and its writes would start failing with EAGAIN. So, by what the descriptor is:
// - a regular file or /dev/null never makes a writer wait: written at once;
// - a pipe or a socket: written at once with RWF_NOWAIT (pwritev2, a flag of the call, not
//   of the file), whatever fits; the rest, if the reader is behind, through the pool;
// - a terminal (which refuses RWF_NOWAIT), or without the FFI: through libuv's thread pool
//   (fs.write), where a write may wait without graceful waiting.
// The pool costs four threads, a wake-up of one per line, and a second one back, on the stop
// path and the exit path (bench/analysis.md, "Writing to stderr").
import { fstatSync, write, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { hardExit, loadedLibc } from '../process/ffi.js';

// What graceful keeps of its own lines while stderr does not take them: far more than a
// run writes, little enough not to matter if nobody ever reads them.
const MAX_QUEUED = 1 << 20;
// graceful never makes its stdout or stderr non-blocking, but whoever shares them may (a
// Node parent such as npm opens its own stdout as a stream, which sets O_NONBLOCK on the
// shared pipe): a full pipe then answers EAGAIN instead of waiting. The write is tried again
// this much later, rather than the output given up for broken.
const EAGAIN_RETRY_MS = 5;

// Linux's memory devices (/dev/null, /dev/zero, /dev/full): character devices of major 1.
const MEM_MAJOR = 1;
const EAGAIN = 11;

/** How a descriptor is written (see the top of this file). */
type Way = 'direct' | 'no-wait' | 'pool';

function wayOf(fd: number): Way {
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() || (stat.isCharacterDevice() && Math.floor(stat.rdev / 256) % 4096 === MEM_MAJOR)) return 'direct';
    return stat.isFIFO() || stat.isSocket() ? 'no-wait' : 'pool';
  } catch {
    return 'pool';
  }
}

// Writes to a file descriptor, in order, never waiting for a reader (the top of this file).
// Errors (EPIPE, EIO after a hang-up, ENOSPC) end the output silently: the child is still
// supervised, only words are lost.
class FdWriter extends Writable {
  /** Bytes written so far: progress, for drained(). */
  written = 0;
  readonly #idle: (() => void)[] = [];
  #way: Way;

  constructor(private readonly fd: number) {
    super({ highWaterMark: 64 * 1024, decodeStrings: true });
    this.#way = wayOf(fd);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.#way === 'direct') {
      try {
        for (let at = 0; at < chunk.length; ) at += writeSync(this.fd, chunk, at);
        this.written += chunk.length;
      } catch (error) {
        return done(error as Error);
      }
      return done();
    }
    const lib = this.#way === 'no-wait' ? loadedLibc() : null;
    if (lib) {
      const n = lib.writeNoWait(this.fd, chunk);
      if (n === chunk.length) {
        this.written += n;
        return done();
      }
      if (n > 0) {
        this.written += n;
        chunk = chunk.subarray(n);
      } else if (n !== -EAGAIN) {
        // Refused (an old kernel) or failed: the pool from now on, which also reports errors.
        this.#way = 'pool';
      }
    }
    const rest = (buf: Buffer): void => {
      write(this.fd, buf, 0, buf.length, null, (error, written) => {
        if (error?.code === 'EAGAIN') return void setTimeout(() => rest(buf), EAGAIN_RETRY_MS);
        if (error) {
          this.#wake();
          return done(error);
        }
        this.written += written;
        if (written < buf.length) return rest(buf.subarray(written));
        done();
        // done() started the next queued write, if any: nothing left means all written.
        if (this.writableLength === 0) this.#wake();
      });
    };
    rest(chunk);
  }

  /** Resolves once everything queued so far is written (or the stream broke). */
  idle(): Promise<void> {
    if (this.writableLength === 0 || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #wake(): void {
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

const streams = new Map<number, FdWriter>();

// The writer of fd 1 or 2, made once.
export function fdStream(fd: 1 | 2): Writable {
  let stream = streams.get(fd);
  if (!stream) {
    stream = new FdWriter(fd);
    stream.on('error', () => stream!.destroy());
    streams.set(fd, stream);
  }
  return stream;
}

// Writes graceful's own text to stderr without blocking.
export function say(text: string): void {
  const stderr = fdStream(2);
  if (stderr.destroyed || stderr.writableLength > MAX_QUEUED) return;
  stderr.write(text);
}

// Resolves true once everything written so far has been written; false if the output
// made no progress for `ms` (a reader that stopped reading). A slow reader that keeps
// reading is waited for: the child's relayed output must not lose its last bytes.
// Event-driven, not polled: it resumes when the last queued write completes, so a run's
// last line costs its write and nothing more at exit (an empty write queued behind it, as
// before, cost a second trip through the thread pool).
export async function drained(ms: number): Promise<boolean> {
  for (;;) {
    const pending = [...streams.values()].filter((s) => !s.destroyed && s.writableLength > 0);
    if (pending.length === 0) return true;
    const before = pending.reduce((n, s) => n + s.written, 0);
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      Promise.all(pending.map((s) => s.idle())).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false))),
    ]);
    clearTimeout(timer);
    if (!flushed && pending.reduce((n, s) => n + s.written, 0) === before) return false;
  }
}

// How long graceful's last lines get at exit to reach a slow stderr: a moment, not for ever
// (a reader that never reads must not keep graceful from exiting).
const EXIT_FLUSH_MS = 1000;

// Before graceful exits with `status`: waits for its last lines (drained), and if they are
// stuck (a reader that stopped reading), ends the process at once with `status`, since a
// write stuck on stderr would make process.exit() wait for it for ever. Resolves once they
// are out (or the FFI that ends it at once cannot load): the caller then exits as it means to.
export async function flushOrHardExit(status: number): Promise<void> {
  if (!(await drained(EXIT_FLUSH_MS))) hardExit(status);
}

// Makes stderr's writer and runs its write path once, with an empty write (nothing reaches
// the reader), now rather than at the first line: the first line is a stop's, written just
// after the kill, or a run's summary, just before graceful's exit, where its first-time
// costs would land (bench/analysis.md, "Writing to stderr"). Called once graceful is idle
// after the spawn.
export function prepareOutput(): void {
  if (streams.has(2)) return;
  fdStream(2).write(EMPTY);
}

const EMPTY = Buffer.alloc(0);
