// The standalone executable (npm run build:binary; issue 17), where there is no Node: a root
// directory holding only the binary, the shared libraries `ldd` lists for it and for sh, and
// sh (dash) itself; graceful as PID 1 of a new PID namespace, chrooted there. Then its
// native part where it cannot be loaded (a noexec temporary directory), and where
// /proc/self/fd is not there (the exclusively created file, removed).
//
// Runs when GRACEFUL_BIN names the executable (.ci/run's second pass); otherwise it says so.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARY, childrenOf, exitOf, start, tempDir, useHarness, waitGone, zombiesOf, type Run } from './harness.js';
import { minimalRoot as sharedRoot } from './rootfs.js';

useHarness();

const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
const why = !BINARY
  ? 'GRACEFUL_BIN is not set (npm run build:binary, then GRACEFUL_BIN=dist/graceful-linux-<arch>; .ci/run does)'
  : probe.status !== 0
    ? `unshare --pid --fork --mount-proc failed here (${(probe.stderr || probe.error?.message || '').trim()}); it needs root`
    : null;
if (why) console.warn(`skipping the standalone executable's tests: ${why}`);

// The minimal root, with fifos the tests write to when they want something to happen in there.
const minimalRoot = () => sharedRoot({ fifos: ['go', 'stop'] });

// Writes a line into one of the root's fifos once its reader has opened it (ENXIO until
// then), without ever blocking the test: a reader that never comes fails it after 5 s.
async function release(root: string, fifo: string): Promise<void> {
  for (let i = 0; ; i++) {
    let fd: number;
    try {
      fd = openSync(join(root, fifo), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || i >= 500) throw new Error(`nobody reads /${fifo} in the root (${(error as Error).message})`);
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    try {
      writeSync(fd, 'x\n');
    } finally {
      closeSync(fd);
    }
    return;
  }
}

function asPid1(root: string, args: string[]): Run {
  return start([], {
    via: ['unshare', '--pid', '--fork', `--mount-proc=${join(root, 'proc')}`, 'chroot', root, '/graceful', 'run', '--platform-timeout', '0', ...args],
  });
}

// graceful's pid as the host sees it: the one child of unshare (chroot execs it).
async function hostPid(run: Run): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const children = readFileSync(`/proc/${run.pid}/task/${run.pid}/children`, 'utf8').trim();
    if (children) {
      const pid = Number(children.split(' ')[0]);
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'chroot') return pid;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('graceful did not start under unshare');
}

describe.skipIf(why !== null)('the standalone executable in a root with nothing but it, its libraries and sh', () => {
  it('the root has no node: only /graceful, /bin/sh and libraries', () => {
    const root = minimalRoot();
    const files = execFileSync('find', [root, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n').map((f) => f.slice(root.length));
    expect(files.filter((f) => !/^\/(graceful|bin\/sh)$|\.so(\.\d+)*$/.test(f))).toEqual([]);
    expect(files.some((f) => /node/.test(f))).toBe(false);
  });

  it("as PID 1: the child's exit status is graceful's; --verbose says once that there is no setpriv, and what is lost", async () => {
    const root = minimalRoot();
    const run = asPid1(root, ['--verbose', '--', '/bin/sh', '-c', 'exit 3']);
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stderr.text).toMatch(/exit status 3/);
    expect(run.stderr.text.match(/no util-linux setpriv .*no parent-death signal.*keeps running/g)).toHaveLength(1);
    expect(run.stdout.text).toBe('');
  });

  it('as PID 1: SIGTERM is forwarded to the child, which exits on it', async () => {
    const root = minimalRoot();
    // The read runs in the background so that the trap runs as soon as TERM arrives. It is
    // forked before the trap is set: a child forked with the trap in place can lose a SIGTERM
    // that comes before it resets its handlers (seen in .ci/run: sh exited 7, the read kept
    // waiting). --timeout 3s: were one left, the failure comes in 3 s, not at the ceiling.
    const run = asPid1(root, ['--timeout', '3s', '--', '/bin/sh', '-c', 'read x < /stop & trap "echo got TERM; exit 7" TERM; echo ready $$; wait $!']);
    await run.stdout.waitFor(/ready \d+/, 'the child to be ready');
    process.kill(await hostPid(run), 'SIGTERM');
    expect((await exitOf(run)).code).toBe(7);
    expect(run.stdout.text).toMatch(/got TERM/);
    expect(run.stderr.text).toMatch(/SIGTERM/);
  });

  it('as PID 1: an orphan that exits is reaped, not left a zombie', async () => {
    const root = minimalRoot();
    // ( ... & ) exits at once: its child is an orphan, reparented to PID 1, graceful.
    const run = asPid1(root, ['--', '/bin/sh', '-c', '( /bin/sh -c "read x < /go" & ); echo ready $$; read y < /stop']);
    await run.stdout.waitFor(/ready \d+/, 'the child to be ready');
    const graceful = await hostPid(run);
    let orphan: number | undefined;
    for (let i = 0; i < 500 && orphan === undefined; i++) {
      orphan = childrenOf(graceful).find((c) => c.cmd === '/bin/sh -c read x < /go')?.pid;
      if (orphan === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    expect(orphan, 'the orphan, reparented to graceful').toBeDefined();
    await release(root, 'go'); // the orphan exits
    await waitGone([orphan!]);
    // Reaped: its /proc entry goes (a zombie keeps it).
    for (let i = 0; i < 500 && existsSync(`/proc/${orphan}`); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(`/proc/${orphan}`), 'the orphan reaped').toBe(false);
    expect(zombiesOf(graceful)).toBe(0);
    await release(root, 'stop'); // the child exits
    expect((await exitOf(run)).code).toBe(0);
  });
});

describe.skipIf(why !== null)("the standalone executable's native part", () => {
  it('is loaded from a nameless O_TMPFILE file, through /proc/self/fd', async () => {
    const run = start(['run', '--', 'true'], { env: { GRACEFUL_DEBUG: '1' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/^graceful: native part loaded from an O_TMPFILE file in /m);
    // graceful run from its own bundle, with its code cache (scripts/sea-main.cjs).
    expect(run.stderr.text).toMatch(/^graceful: code cache used \(run\.cjs\)$/m);
  });

  it('without /proc: from a file created exclusively in GRACEFUL_TMPDIR, removed once loaded', async () => {
    const root = minimalRoot();
    const run = start([], { via: ['chroot', root, '/graceful', 'run', '--', '/bin/sh', '-c', 'exit 0'], env: { GRACEFUL_DEBUG: '1', GRACEFUL_TMPDIR: '/tmp' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/^graceful: native part loaded from \/tmp\/\.graceful-koffi-\S+\.node, removed/m);
    // Nothing left but graceful's runtime directory (shell/sockets/rundir.ts: kept, as
    // $XDG_RUNTIME_DIR is, for the next graceful), empty: no native part, no socket.
    const runtime = `graceful-${process.getuid!()}`;
    expect(readdirSync(join(root, 'tmp')).filter((f) => f !== runtime)).toEqual([]);
    expect(readdirSync(join(root, 'tmp', runtime))).toEqual([]);
  });

  it("graceful check writes its preload for Node programs into GRACEFUL_TMPDIR, and leaves nothing there, an older check's leftover included", async () => {
    const dir = tempDir();
    const dead = spawnSync('true').pid!; // a pid nobody has now
    mkdirSync(join(dir, `graceful-check-${dead}-x`, 'dist'), { recursive: true });
    const run = start(['check', '--after', '200ms', '--timeout', '5s', '--', process.execPath, '-e', "process.stdout.write(process.env.NODE_OPTIONS); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"], {
      env: { GRACEFUL_TMPDIR: dir, NODE_OPTIONS: undefined },
    });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(new RegExp(`^--require "${dir}/graceful-check-${run.pid}-\\w+/dist/check-preload\\.cjs"$`));
    expect(run.stderr.text).toMatch(/ok\s+connections-closed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('in a noexec directory: one line naming the fix, exit status 71, no child started', async () => {
    const dir = tempDir();
    const marker = join(dir, 'started');
    const run = start([], {
      via: ['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs -o noexec tmpfs "$0" && exec "$@"', join(dir), BINARY!, 'run', '--', 'sh', '-c', `: > ${marker}`],
      env: { GRACEFUL_TMPDIR: dir },
    });
    expect((await exitOf(run)).code).toBe(71);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^graceful: cannot load its native part from .*noexec.*GRACEFUL_TMPDIR.*--tmpfs \/tmp:exec/);
    expect(existsSync(marker)).toBe(false);
    expect(run.stdout.text).toBe('');
  });
});
