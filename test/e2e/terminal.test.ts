// graceful on a real terminal: `script` (util-linux) gives it a pseudo-terminal, and keys are
// typed as bytes (Ctrl+C is 0x03), so the kernel's line discipline signals the terminal's
// foreground process group, as it does for a person at a keyboard. Terminal mode (issue 11):
// the child shares graceful's process group and keeps the terminal.
//
// Two set-ups: graceful alone on the terminal, leading its session (`exec` in script's shell:
// what `ssh host graceful ...` or a terminal that runs it directly gives), and graceful run
// from an interactive bash, the way people use it, with the shell's job control.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exitOf, GRACEFUL, fixture, leftovers, pastEchoWindow, readJson, ROOT, start, tempDir, useHarness, waitGone, type Run } from './harness.js';

useHarness();

const CTRL_C = '\x03';
const CTRL_D = '\x04';
const CTRL_Z = '\x1a';
const node = process.execPath;

// graceful under a 24x100 pseudo-terminal; `exec` so that graceful leads the foreground group.
function onTerminal(args: string[], env: Record<string, string | undefined> = {}) {
  const command = ['stty rows 24 cols 100;', 'exec', ...GRACEFUL, ...args].map((a, i) => (i < 2 ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  return start([], { via: ['script', '-qfec', command, '/dev/null'], env: { NO_COLOR: undefined, TERM: 'xterm', ...env } });
}

// An interactive bash on a 24x100 pseudo-terminal, where "$GN" "$GC" runs graceful ("$GNODE" is node). Commands are
// typed with type(); what the screen shows is in run.stdout (typed text echoed included:
// the patterns waited for are chosen not to match a command's own echo).
function inShell(env: Record<string, string | undefined> = {}) {
  return start([], {
    via: ['script', '-qfec', 'stty rows 24 cols 100; exec bash --norc --noprofile -i', '/dev/null'],
    env: { NO_COLOR: undefined, TERM: 'xterm', HISTFILE: '/dev/null', GNODE: node, GN: GRACEFUL.length === 2 ? GRACEFUL[0] : 'env', GC: GRACEFUL.at(-1), ...env },
  });
}

const type = (run: Run, keys: string) => run.proc.stdin!.write(keys);

// state, pgid, session and the terminal's foreground group of a process, from /proc.
function stat(pid: number) {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), tpgid: Number(f[5]) };
}

async function until(check: () => boolean, what: string | (() => string), ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// The pid of the test's live process whose command line matches `re` (and whose executable's
// path holds `exe`: python3 is a pyenv shim, a bash script, until it execs Python).
async function pidOf(re: RegExp, what: string, exe = ''): Promise<number> {
  let pid: number | undefined;
  const executable = (p: number) => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return '';
    }
  };
  await until(() => (pid = leftovers().find((p) => re.test(p.cmd) && executable(p.pid).includes(exe))?.pid) !== undefined, what);
  return pid!;
}

// Waits until `pid` is asleep waiting for a key: in select() or poll() (readline's loop), or
// in a read of the terminal (the kernel's wait channel, /proc/<pid>/wchan).
async function waitingForKey(pid: number, what: string): Promise<void> {
  const wchan = () => {
    try {
      return `${stat(pid).state} ${readFileSync(`/proc/${pid}/wchan`, 'latin1')}`;
    } catch {
      return 'gone';
    }
  };
  await until(() => /^S .*(poll|select|tty_read|wait_woken)/.test(wchan()), () => `${what} (state and wait channel: ${wchan()})`);
}

// The live countdown: graceful drew it once it had taken a stop signal.
const COUNTDOWN = /SIGINT sent, \d+s left, Ctrl\+C again to force/;

const count = (text: string, re: RegExp) => text.split('\n').filter((line) => re.test(line)).length;

describe('on a terminal: what must keep working', () => {
  it('Ctrl+C once: the child gets exactly one SIGINT, the countdown shows, then the summary', async () => {
    const run = onTerminal(['run', '--', node, fixture('drains-for.js'), '1500']);
    await run.ready();
    type(run, CTRL_C);
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get SIGINT');
    await run.stdout.waitFor(/SIGINT sent, \d+s left, Ctrl\+C again to force/, 'the countdown line');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    expect(run.stdout.count(/signal SIGINT/)).toBe(1);
    expect(run.stdout.text).toMatch(/stopped cleanly: SIGINT received, SIGINT sent at \+0ms, exited with code 0 at \+1\.\d+s; exit status 0 .*\[clean\]/);
    // Colour on a terminal, and the scroll region given back at the end.
    expect(run.stdout.text).toContain('\x1b[32m[clean]');
    expect(run.stdout.text).toContain('\x1b[r');
  });

  it('Ctrl+C twice: the second forces the kill, exit 137', async () => {
    const run = onTerminal(['run', '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    type(run, CTRL_C);
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get the first SIGINT');
    // The child's line proves only that the terminal signalled the group; the countdown, that graceful took it.
    await pastEchoWindow(run.stdout, COUNTDOWN, 'the countdown after the first Ctrl+C');
    type(run, CTRL_C);
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    // The second Ctrl+C reaches the child from the terminal too, as without graceful; it may
    // or may not have printed it before the SIGKILL.
    expect(run.stdout.count(/signal SIGINT/)).toBeLessThanOrEqual(2);
    expect(run.stdout.text).toMatch(/was killed on request: SIGINT received, SIGINT sent at \+0ms, SIGKILL sent at \+[\d.]+m?s \(second Ctrl\+C\)/);
  });

  it('each signal from the terminal reaches the child exactly once: Ctrl+C, a resize (never a second copy from graceful)', async () => {
    const run = onTerminal(['run', '--', node, fixture('catch-signals.js'), '--stay']);
    const child = await run.ready();
    const graceful = stat(child).ppid;
    // A resize: the kernel sends SIGWINCH to the terminal's foreground group.
    const pts = readlinkSync(`/proc/${child}/fd/0`);
    expect(spawnSync('stty', ['-F', pts, 'cols', '90']).status).toBe(0);
    await run.stdout.waitFor(/signal SIGWINCH/, 'the child to get SIGWINCH');
    type(run, CTRL_C);
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get SIGINT');
    // A marker: graceful forwards SIGPWR (a signal the terminal never sends). A copy of
    // SIGWINCH or SIGINT from graceful would have been sent before it, and a lower-numbered
    // pending signal is delivered first: once SIGPWR is seen, no copy is still on its way.
    process.kill(graceful, 'SIGPWR');
    await run.stdout.waitFor(/signal SIGPWR/, 'the child to get the SIGPWR marker');
    expect(count(run.stdout.text, /signal SIGWINCH/)).toBe(1);
    expect(count(run.stdout.text, /signal SIGINT/)).toBe(1);
    await pastEchoWindow(run.stdout, COUNTDOWN, 'the countdown after the first Ctrl+C');
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(137);
  });

  it('the countdown line shortens a long command without cutting the script\'s name', async () => {
    const run = onTerminal(['run', '--', node, fixture('drains-for.js'), '300', '0', '--an-argument-too-long-for-the-countdown-line']);
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    // 100 columns: the executable and script by their base names, the rest given way to "...".
    expect(run.stdout.text).toMatch(/stopping node drains-for\.js( \d+)* \.\.\. \(pid \d+\): SIGINT sent, \d+s left, Ctrl\+C again to force/);
  });

  it('NO_COLOR turns colour off, the countdown stays', async () => {
    const run = onTerminal(['run', '--', node, fixture('drains-for.js'), '300'], { NO_COLOR: '1' });
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/SIGINT sent, \d+s left/);
    expect(run.stdout.text).not.toMatch(/\x1b\[3\dm/);
  });

  it('CI set in the environment does not turn colour off on a terminal', async () => {
    const run = onTerminal(['run', '--', node, fixture('drains-for.js'), '100'], { CI: 'true' });
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toContain('\x1b[32m[clean]');
  });

  it('TERM=dumb: plain step lines, no cursor movement, no colour', async () => {
    const run = onTerminal(['run', '--', node, fixture('drains-for.js'), '100'], { TERM: 'dumb' });
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/graceful: SIGINT received: stopping .*drains-for\.js 100 \(pid \d+\); grace period 30s/);
    expect(run.stdout.text).toMatch(/graceful: .*drains-for\.js 100 \(pid \d+\) got SIGINT from the terminal; SIGKILL in 30s/);
    expect(run.stdout.text).toMatch(/stopped cleanly: SIGINT received/);
    expect(run.stdout.text).not.toContain('\x1b');
  });

  it('the child still reads and writes the terminal', async () => {
    const reader = 'process.stdin.once("data", (d) => { console.log("got " + String(d).trim() + " tty=" + process.stdin.isTTY); process.exit(0); }); console.log("ready " + process.pid);';
    const run = onTerminal(['run', '--', node, '-e', reader]);
    await run.ready();
    type(run, 'hello\r');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/got hello tty=true/);
  });
});

describe('terminal mode: the child keeps the terminal (issue 11)', () => {
  it('shares graceful\'s process group and session, the foreground one', async () => {
    const run = onTerminal(['run', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    const graceful = stat(child).ppid;
    expect(stat(child)).toMatchObject({ pgid: stat(graceful).pgid, sid: stat(graceful).sid, tpgid: stat(graceful).pgid });
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
  });

  it("bash -c 'echo hi > /dev/tty': /dev/tty opens", async () => {
    const run = onTerminal(['run', '--', 'bash', '-c', 'echo "hi from $(tty)" > /dev/tty']);
    const exit = await exitOf(run);
    expect(run.stdout.text).not.toMatch(/No such device/);
    expect(run.stdout.text).toMatch(/hi from \/dev\/pts\/\d+/);
    expect(exit.code).toBe(0);
  });

  it('a password prompt on /dev/tty hides what is typed', async () => {
    // As ssh-keygen and sudo do: prompt on /dev/tty, echo turned off there, read from it.
    const prompt = 'read -r -s -p "passphrase: " p < /dev/tty 2> /dev/tty; echo; echo "got ${#p} characters"';
    const run = onTerminal(['run', '--', 'bash', '-c', prompt]);
    await run.stdout.waitFor(/passphrase: /, 'the prompt');
    type(run, 'correct-horse\r');
    await run.stdout.waitFor(/got 13 characters/, 'the answer to be read');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).not.toContain('correct-horse');
  });

  it('ssh-keygen asks for a passphrase and does not show it', async () => {
    expect(spawnSync('ssh-keygen', ['-?']).error, 'ssh-keygen (.ci/run installs openssh-client)').toBeUndefined();
    const key = join(tempDir(), 'key');
    const run = onTerminal(['run', '--', 'ssh-keygen', '-q', '-t', 'ed25519', '-C', 'test', '-f', key]);
    await run.stdout.waitFor(/Enter passphrase/, 'the first prompt');
    type(run, 'correct-horse\r');
    await run.stdout.waitFor(/Enter same passphrase again/, 'the second prompt');
    type(run, 'correct-horse\r');
    expect((await exitOf(run)).code).toBe(0);
    expect(existsSync(key)).toBe(true);
    expect(run.stdout.text).not.toContain('correct-horse');
  });

  it('Ctrl+Z in a shell stops the child and graceful; fg resumes both, each getting one SIGCONT', async () => {
    const shell = inShell();
    type(shell, `"$GN" "$GC" run -- "$GNODE" '${fixture('catch-signals.js')}'\r`);
    const child = await shell.ready();
    const graceful = stat(child).ppid;
    type(shell, CTRL_Z);
    await shell.stdout.waitFor(/Stopped/, "bash's job stopped message");
    expect(stat(child).state).toBe('T');
    expect(stat(graceful).state).toBe('T');
    type(shell, 'fg\r');
    await shell.stdout.waitFor(/signal SIGCONT/, 'the child to be resumed');
    await until(() => stat(graceful).state !== 'T' && stat(child).state !== 'T', 'both to run again');
    process.kill(graceful, 'SIGPWR'); // a marker, as above: any second SIGCONT would come first
    await shell.stdout.waitFor(/signal SIGPWR/, 'the marker');
    expect(count(shell.stdout.text, /signal SIGCONT/)).toBe(1);
    type(shell, CTRL_C);
    await shell.stdout.waitFor(/stopped cleanly/, 'the summary');
    type(shell, 'echo "status=$?"; exit\r');
    await shell.stdout.waitFor(/status=(\d+)/, 'the status');
    expect(shell.stdout.text).toMatch(/status=0/);
    expect((await exitOf(shell)).code).toBe(0);
  });

  it('vim: Ctrl+Z suspends it with graceful, fg brings it back, :wq saves', async () => {
    const vim = ['vim', 'vim.tiny'].find((v) => spawnSync(v, ['--version']).error === undefined);
    expect(vim, 'vim or vim.tiny (.ci/run installs vim-tiny)').toBeDefined();
    const file = join(tempDir(), 'notes.txt');
    const shell = inShell();
    type(shell, `"$GN" "$GC" run -- ${vim} -u NONE -N -n -i NONE ${file}\r`);
    await shell.stdout.waitFor(/\[New/, 'vim to show the new file');
    const editor = await pidOf(new RegExp(`^${vim} `), 'the vim process');
    const graceful = stat(editor).ppid;
    type(shell, 'ihello from vim\x1b');
    await shell.stdout.waitFor(/hello from vim/, 'the text on screen');
    let from = shell.stdout.text.length;
    type(shell, CTRL_Z);
    await shell.stdout.waitFor(/Stopped/, "bash's job stopped message", 10_000, from);
    expect(stat(editor).state).toBe('T');
    expect(stat(graceful).state).toBe('T');
    from = shell.stdout.text.length;
    type(shell, 'fg\r');
    await shell.stdout.waitFor(/hello from vim/, 'vim to redraw its text', 10_000, from);
    await until(() => stat(graceful).state !== 'T' && stat(editor).state !== 'T', 'both to run again');
    type(shell, ':wq\r');
    await shell.stdout.waitFor(/ended on its own: exited with code 0/, 'the summary');
    type(shell, 'echo "status=$?"; exit\r');
    await shell.stdout.waitFor(/status=(\d+)/, 'the status');
    expect(shell.stdout.text).toMatch(/status=0/);
    expect((await exitOf(shell)).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('hello from vim\n');
  });

  it('a closed terminal: SIGHUP reaches the child once (graceful leads the session and passes it on)', async () => {
    const log = join(tempDir(), 'signals');
    const run = onTerminal(['run', '--', node, fixture('catch-signals.js'), '--log', log]);
    const child = await run.ready();
    const graceful = stat(child).ppid;
    expect(stat(graceful).sid).toBe(graceful);
    run.signal('SIGKILL'); // script dies: the terminal's other end closes, a hang-up
    const logged = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    await until(() => /signal SIGHUP/.test(logged()), 'the child to get SIGHUP');
    process.kill(graceful, 'SIGPWR');
    await until(() => /signal SIGPWR/.test(logged()), 'the SIGPWR marker');
    expect(count(logged(), /signal SIGHUP/)).toBe(1);
    process.kill(graceful, 'SIGTERM');
    await waitGone([graceful, child]);
  });

  it('a closed terminal under a shell: the shell hangs the job up, the child gets SIGHUP and dies of it', async () => {
    const report = join(tempDir(), 'report.json');
    const shell = inShell();
    type(shell, `"$GN" "$GC" run --report-file ${report} -- "$GNODE" '${fixture('drains-for.js')}' 0\r`);
    const child = await shell.ready();
    const graceful = stat(child).ppid;
    shell.signal('SIGKILL');
    // drains-for.js has no SIGHUP handler: it dies of it, and graceful exits with it.
    await waitGone([graceful, child]);
    expect(readJson(report)).toMatchObject({ exit: { signal: 'SIGHUP' }, exitStatus: 129 });
  });

  it('the whole tree is still killed at the deadline, process by process; graceful survives to tell', async () => {
    // node -> sh -> sh -> sleep &: Ctrl+C reaches them all from the terminal; node exits, the
    // shells die, and the background sleep ignores SIGINT (a shell's rule for `&`): it is
    // left for the kill, which cannot be kill(-pgid) here (graceful's own group).
    const report = join(tempDir(), 'report.json');
    const run = onTerminal(['run', '--timeout', '1s', '--report-file', report, '--', node, fixture('spawns-tree.js')]);
    await run.ready();
    const sleep = Number(/tree sleep (\d+)/.exec(run.stdout.text)![1]);
    type(run, CTRL_C);
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    expect(run.stdout.text).toMatch(/stopped, but the rest of its tree had to be killed: SIGINT received, .*the rest of its tree gone at \+1\.\d+s; exit status 0/);
    expect(readJson(report).descendants.killed.map((p: { pid: number }) => p.pid)).toContain(sleep);
    await waitGone([sleep]);
  });

  it('a daemon that left the session is still stopped and killed', async () => {
    const report = join(tempDir(), 'report.json');
    const run = onTerminal(['run', '--timeout', '1s', '--report-file', report, '--', node, fixture('daemonizes.js'), '--daemon-ignores-term']);
    const child = await run.ready();
    const daemon = Number(/tree daemon (\d+)/.exec(run.stdout.text)![1]);
    expect(stat(daemon).sid).toBe(daemon);
    process.kill(stat(child).ppid, 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report).descendants.killed.map((p: { pid: number }) => p.pid)).toContain(daemon);
    await waitGone([daemon]);
  });

  it('off a terminal inside one (stdin from /dev/null): the child has a session of its own, as before', async () => {
    const shell = inShell();
    type(shell, `"$GN" "$GC" run -- bash -c 'echo "ready $$"; echo hi > /dev/tty; echo "status=$?"' < /dev/null\r`);
    const child = await shell.ready();
    await shell.stdout.waitFor(new RegExp(`\\(pid ${child}\\) ended on its own`), 'the summary');
    expect(shell.stdout.text).toMatch(/No such device or address/);
    expect(shell.stdout.text).toMatch(/status=1/);
    type(shell, 'exit\r');
    expect((await exitOf(shell)).code).toBe(0);
  });
});

describe('--interactive: REPLs and shells', () => {
  it('python3: Ctrl+C cancels the line, the REPL goes on; its own exit ends the run', async () => {
    const run = onTerminal(['run', '--interactive', '--', 'python3', '-q']);
    await run.stdout.waitFor(/>>> /, 'the prompt');
    // Python misses a SIGINT that comes before its input loop waits for a key (it does so
    // without graceful too): its handler only sets a flag, which the loop reads when select()
    // is interrupted, and a SIGINT that comes while it is still drawing the typed text
    // interrupts nothing. Seeing the text drawn is not enough (under load, Python is
    // descheduled between drawing it and waiting again): press Ctrl+C once it waits.
    type(run, '1 +');
    await run.stdout.waitFor(/>>> 1 \+/, 'the REPL to show the typed text');
    await waitingForKey(await pidOf(/python3(\.\d+)? -q$/, 'python3', 'python'), 'python3 to wait for a key');
    type(run, CTRL_C);
    await run.stdout.waitFor(/KeyboardInterrupt/, 'the REPL to cancel the line');
    type(run, 'print(6 * 7)\r');
    await run.stdout.waitFor(/^42\r?\n>>> /m, 'the REPL to go on, and prompt again');
    type(run, CTRL_D);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/python3 -q \(pid \d+\) ended on its own: exited with code 0/);
    expect(run.stdout.text).not.toMatch(/stopping|SIGINT received/);
  });

  it('bash: Ctrl+C interrupts the sleep, not the shell', async () => {
    const run = onTerminal(['run', '--interactive', '--', 'bash', '--norc', '--noprofile', '-i'], { PS1: '$ ', HISTFILE: '/dev/null' });
    type(run, 'sleep 100\r');
    const sleep = await pidOf(/^sleep 100$/, 'the sleep');
    type(run, CTRL_C);
    await waitGone([sleep]);
    type(run, 'echo "alive $$"; exit 3\r');
    const exit = await exitOf(run);
    expect(run.stdout.text).toMatch(/alive \d+/);
    expect(exit.code).toBe(3);
    expect(run.stdout.text).toMatch(/bash --norc --noprofile -i \(pid \d+\) crashed: exited with code 3/);
    expect(run.stdout.text).not.toMatch(/stopping|SIGINT received/);
  });

  it('SIGTERM still stops it, with the whole sequence', async () => {
    const run = onTerminal(['run', '--interactive', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    process.kill(stat(child).ppid, 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/stopped cleanly: SIGTERM received, SIGTERM sent at \+\d+ms/);
  });

  it('a closed terminal stops it: SIGHUP, then the kill at the deadline', async () => {
    const dir = tempDir();
    const [log, report] = [join(dir, 'signals'), join(dir, 'report.json')];
    const run = onTerminal(['run', '--interactive', '--timeout', '1s', '--report-file', report, '--', node, fixture('catch-signals.js'), '--log', log]);
    const child = await run.ready();
    const graceful = stat(child).ppid;
    run.signal('SIGKILL');
    await waitGone([graceful, child]);
    expect(count(readFileSync(log, 'utf8'), /signal SIGHUP/)).toBe(1);
    expect(readJson(report).stop).toMatchObject({ trigger: 'SIGHUP', signal: 'SIGHUP', escalated: true });
  });

  it('without it, a program that catches Ctrl+C and goes on is killed at the deadline, and the summary names --interactive', async () => {
    const run = onTerminal(['run', '--timeout', '1s', '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(137);
    expect(run.stdout.text).toMatch(/had to be killed: SIGINT received/);
    expect(run.stdout.text).toMatch(/ignores-sigterm\.js \(pid \d+\) caught Ctrl\+C \(SIGINT\) and kept running, as REPLs and shells do: run such programs with --interactive/);
  });

  it('a program that exits on Ctrl+C gets no such advice', async () => {
    const run = onTerminal(['run', '--', node, fixture('catch-signals.js')]);
    await run.ready();
    type(run, CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).not.toMatch(/--interactive/);
  });
});

describe("the README's quick start, in a shell", () => {
  it('Ctrl+C: $? is graceful\'s exit status, and the next command of the line runs', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    const command = /^(\S*graceful\S* run -- node fixtures\/http-server\.js)$/m.exec(quick)?.[1];
    expect(command, 'the quick start command in the README').toBeDefined();
    // The server's port: any free one (the README's 3000 may be taken on a test machine).
    const shell = inShell({ PORT: '0' });
    type(shell, `cd '${ROOT}'\r`);
    type(shell, `${command}; echo "status=$?"\r`);
    await shell.ready();
    type(shell, CTRL_C);
    const summary = await shell.stdout.waitFor(/stopped cleanly: .*; exit status (\d+)/, 'the summary');
    const status = await shell.stdout.waitFor(/status=(\d+)/, 'the next command of the line');
    expect(status[1]).toBe(summary[1]);
    expect(status[1]).toBe('0');
    type(shell, 'exit\r');
    expect((await exitOf(shell)).code).toBe(0);
  });
});
