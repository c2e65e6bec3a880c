// graceful's own writes to stderr, and the relay of the child's output (--ready log:). All
// go through the thread pool (fs.write), never a blocking write on the event loop: Node
// writes to a pipe or a terminal synchronously, so a reader that stops reading (a full
// pipe, a terminal paused with Ctrl+S) would freeze graceful, its timers and its signal
// handling with it. Making the descriptor non-blocking instead is not an option: O_NONBLOCK
// belongs to the open file description, which the child shares, and its writes would start
// failing with EAGAIN.
import { write } from 'node:fs';
import { Writable } from 'node:stream';

// What graceful keeps of its own lines while stderr does not take them: far more than a
// run writes, little enough not to matter if nobody ever reads them.
const MAX_QUEUED = 1 << 20;
// graceful never makes its stdout or stderr non-blocking, but whoever shares them may (a
// Node parent such as npm opens its own stdout as a stream, which sets O_NONBLOCK on the
// shared pipe): a full pipe then answers EAGAIN instead of waiting. The write is tried again
// this much later, rather than the output given up for broken.
const EAGAIN_RETRY_MS = 5;

// Writes to a file descriptor, in order, through the thread pool. Errors (EPIPE, EIO after
// a hang-up) end the output silently: the child is still supervised, only words are lost.
class FdWriter extends Writable {
  /** Bytes written so far: progress, for drained(). */
  written = 0;

  constructor(private readonly fd: number) {
    super({ highWaterMark: 64 * 1024, decodeStrings: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const rest = (buf: Buffer): void => {
      write(this.fd, buf, 0, buf.length, null, (error, written) => {
        if (error?.code === 'EAGAIN') return void setTimeout(() => rest(buf), EAGAIN_RETRY_MS);
        if (error) return done(error);
        this.written += written;
        if (written < buf.length) return rest(buf.subarray(written));
        done();
      });
    };
    rest(chunk);
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
// Event-driven, not polled: an empty write's callback runs once every write queued before
// it is done, so a run's last line costs its write and nothing more at exit.
export async function drained(ms: number): Promise<boolean> {
  for (;;) {
    const pending = [...streams.values()].filter((s) => !s.destroyed && s.writableLength > 0);
    if (pending.length === 0) return true;
    const before = pending.reduce((n, s) => n + s.written, 0);
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      Promise.all(pending.map((s) => new Promise<void>((resolve) => s.write(EMPTY, () => resolve())))).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false))),
    ]);
    clearTimeout(timer);
    if (!flushed && pending.reduce((n, s) => n + s.written, 0) === before) return false;
  }
}

const EMPTY = Buffer.alloc(0);
