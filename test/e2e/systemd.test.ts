// systemd above graceful (issue 24, item 5): graceful under Type=notify, Type=notify-reload
// and WatchdogSec= tells the service manager what its program does, as the program would if
// systemd ran it directly. The manager here is a listener that speaks the protocol as
// systemd does (fixtures/notify-listener.py): an AF_UNIX datagram socket, at a path or at an
// abstract @name, with SO_PASSCRED, so that each message shows its sender's pid (systemd's
// NotifyAccess=main accepts only the main process's: graceful's). The tests assert the
// messages, in order, and their times on the machine's monotonic clock against the child's
// readiness, the stop and the reload.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, monotonicMs, start, tempDir, useHarness, type Run } from './harness.js';

useHarness();

// Debian's python3 (the one on PATH may be a pyenv shim, a shell script: a launcher).
const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['--version']).status === 0;
if (!hasPython) console.warn(`skipping the systemd notify tests: ${PYTHON} (the listener and the sd_notify fixture) is not installed`);
const node = process.execPath;

interface Message {
  at: number;
  pid: number;
  fields: Record<string, string>;
}

// The listener at `address` (a path, or @name), started and listening.
async function manager(address: string): Promise<{ run: Run; messages: () => Message[]; waitFor: (what: string, match: (m: Message) => boolean, ms?: number) => Promise<Message> }> {
  const run = start([], { via: [PYTHON, fixture('notify-listener.py'), address] });
  await run.stdout.waitFor(/^listening \d+$/m, 'the listener to be bound');
  const messages = () => run.stdout.text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Message);
  const waitFor = async (what: string, match: (m: Message) => boolean, ms = 10_000) => {
    for (;;) {
      const found = messages().find(match);
      if (found) return found;
      // The next line the listener prints, or a failure saying what was awaited and seen.
      await run.stdout.waitFor(/\n/, `${what} at the listener`, ms, run.stdout.text.length);
    }
  };
  return { run, messages, waitFor };
}

const keys = (m: Message) => Object.keys(m.fields).join('+');

// A variable of a process, from /proc/PID/environ; undefined when it has none.
function environ(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

describe.skipIf(!hasPython)('graceful under a service manager (NOTIFY_SOCKET)', () => {
  it('Type=notify on a path, --ready notify: READY=1 when the child is ready, STOPPING=1 and EXTEND_TIMEOUT_USEC at the stop, each from graceful\'s pid', async () => {
    const address = join(tempDir(), 'notify');
    const m = await manager(address);
    const run = start(['run', '--ready', 'notify', '--timeout', '3s', '--', PYTHON, fixture('notify.py'), '--ready-after', '500'], { env: { NOTIFY_SOCKET: address } });
    const child = await run.ready();
    const readyAt = Number((await run.stdout.waitFor(/ready-at ([\d.]+)/, "the child's time of READY=1"))[1]);
    const ready = await m.waitFor('READY=1', (x) => x.fields.READY === '1');
    // Relayed when the child said it, not before: graceful's READY=1 follows the child's.
    expect(ready.at).toBeGreaterThanOrEqual(readyAt);
    expect(ready.at - readyAt).toBeLessThan(500);
    expect(ready.fields.STATUS).toMatch(new RegExp(`notify\\.py --ready-after 500 \\(pid ${child}\\) is ready$`));
    // The child has graceful's own socket, not the manager's.
    const own = environ(child, 'NOTIFY_SOCKET');
    expect(own).toBeDefined();
    expect(own).not.toBe(address);
    expect(environ(child, 'WATCHDOG_USEC')).toBeUndefined();

    const stopAt = monotonicMs();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const stopping = await m.waitFor('STOPPING=1', (x) => x.fields.STOPPING === '1');
    expect(stopping.at).toBeGreaterThanOrEqual(stopAt);
    expect(stopping.at - stopAt).toBeLessThan(500);
    expect(stopping.fields.STATUS).toMatch(new RegExp(`^SIGTERM received: stopping .*notify\\.py --ready-after 500 \\(pid ${child}\\)$`));
    await m.waitFor('the STATUS of the stop signal', (x) => /^SIGTERM sent to /.test(x.fields.STATUS ?? ''));
    const all = m.messages();
    // Every message from graceful's pid, as NotifyAccess=main requires.
    expect(all.map((x) => x.pid)).toEqual(all.map(() => run.pid));
    expect(all.map(keys)).toEqual(['STATUS', 'READY+STATUS', 'STATUS', 'STOPPING+STATUS', 'EXTEND_TIMEOUT_USEC', 'STATUS']);
    // Before READY=1: only graceful saying it waits; the child's own STATUS= passes on.
    expect(all[0]!.fields.STATUS).toMatch(/waiting until it is ready$/);
    expect(all[0]!.at).toBeLessThan(readyAt);
    expect(all[2]!.fields.STATUS).toBe('serving');
    // The manager's stop timeout covers graceful's grace period and its 500 ms to report:
    // from the message on, what is left of the 3 s, and 500 ms.
    const extend = Number(all[4]!.fields.EXTEND_TIMEOUT_USEC) / 1000;
    expect(extend).toBeLessThanOrEqual(3500);
    expect(all[4]!.at + extend).toBeGreaterThanOrEqual(stopAt + 3500);
    expect(all[5]!.fields.STATUS).toMatch(/; SIGKILL in 3s$/);
    m.run.signal('SIGTERM');
  });

  it('on an abstract @name, without --ready: READY=1 at the spawn (as Type=exec), the child gets no NOTIFY_SOCKET and no WATCHDOG_USEC, and graceful pings WATCHDOG=1 for itself', async () => {
    const address = `@graceful-e2e-${randomBytes(6).toString('hex')}`;
    const m = await manager(address);
    const spawnedBefore = monotonicMs();
    const run = start(['run', '--', '/bin/sh', '-c', 'echo "notify=${NOTIFY_SOCKET-none} watchdog=${WATCHDOG_USEC-none} pid=${WATCHDOG_PID-none}"; echo ready $$; exec sleep 1000'], {
      env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '400000' },
    });
    await run.ready();
    expect(run.stdout.text).toMatch(/^notify=none watchdog=none pid=none$/m);
    const ready = await m.waitFor('READY=1', (x) => x.fields.READY === '1');
    expect(ready.at).toBeGreaterThanOrEqual(spawnedBefore);
    expect(ready.fields.STATUS).toMatch(/^running sh -c .* \(pid \d+\)$/);
    // Pings at half the period (200 ms): four of them take 600 ms at least.
    const first = await m.waitFor('a WATCHDOG=1', (x) => x.fields.WATCHDOG === '1');
    await m.waitFor('four WATCHDOG=1', () => m.messages().filter((x) => x.fields.WATCHDOG === '1').length >= 4, 5000);
    const pings = m.messages().filter((x) => x.fields.WATCHDOG === '1').map((x) => x.at);
    expect(pings[3]! - first.at).toBeGreaterThanOrEqual(590);
    for (let i = 1; i < pings.length; i++) expect(pings[i]! - pings[i - 1]!).toBeLessThan(400);
    run.signal('SIGTERM');
    await exitOf(run);
    await m.waitFor('STOPPING=1', (x) => x.fields.STOPPING === '1');
    expect(m.messages().every((x) => x.pid === run.pid)).toBe(true);
    m.run.signal('SIGTERM');
  });

  it('NOTIFY_SOCKET neither a path nor an @name: one warning naming it, and the program runs without it', async () => {
    const run = start(['run', '--', '/bin/sh', '-c', 'echo "notify=${NOTIFY_SOCKET-none}"; echo ready $$'], { env: { NOTIFY_SOCKET: 'relative/notify' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/^notify=none$/m);
    expect(run.stderr.text.match(/warning: .*$/gm)).toEqual([
      'warning: NOTIFY_SOCKET=relative/notify is neither a socket path nor an @abstract name: the service manager is not told when the program is ready or stops',
    ]);
  });

  it("WATCHDOG_PID naming another process: the watchdog is not graceful's, no pings", async () => {
    const address = join(tempDir(), 'notify');
    const m = await manager(address);
    const run = start(['run', '--', '/bin/sh', '-c', 'echo ready $$; exec sleep 1000'], { env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' } });
    await run.ready();
    await m.waitFor('READY=1', (x) => x.fields.READY === '1');
    // Five of its would-be periods.
    await new Promise((r) => setTimeout(r, 500));
    run.signal('SIGTERM');
    await exitOf(run);
    await m.waitFor('STOPPING=1', (x) => x.fields.STOPPING === '1');
    expect(m.messages().filter((x) => 'WATCHDOG' in x.fields)).toEqual([]);
    m.run.signal('SIGTERM');
  });

  it('--ready notify under WatchdogSec=: the child gets WATCHDOG_USEC and pings; when it falls silent graceful stops it through the stop sequence and exits 123, pinging the manager for itself throughout', async () => {
    const address = join(tempDir(), 'notify');
    const m = await manager(address);
    const run = start(['run', '--ready', 'notify', '--timeout', '2s', '--', PYTHON, fixture('notify.py'), '--ready-after', '100', '--watchdog-for', '1000'], {
      env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '600000' },
    });
    const child = await run.ready();
    expect(environ(child, 'WATCHDOG_USEC')).toBe('600000');
    expect(environ(child, 'WATCHDOG_PID')).toBeUndefined();
    const lastPing = Number((await run.stdout.waitFor(/watchdog silent ([\d.]+)/, 'the child to fall silent'))[1]);
    expect((await exitOf(run)).code).toBe(123);
    const stopping = await m.waitFor('STOPPING=1', (x) => x.fields.STOPPING === '1');
    // 600 ms after its last ping, not before; and not much later.
    expect(stopping.at - lastPing).toBeGreaterThanOrEqual(600);
    expect(stopping.at - lastPing).toBeLessThan(1100);
    expect(stopping.fields.STATUS).toMatch(/\(watchdog\)$/);
    expect(run.stderr.text).toMatch(new RegExp(`notify\\.py .*\\(pid ${child}\\) stopped cleanly: ready in \\d+ms, no WATCHDOG=1 within its watchdog period \\(WatchdogSec=\\), SIGTERM sent at \\+0ms, exited with code 0 at \\+\\d+ms; exit status 123 \\[clean\\]`));
    // graceful's own pings: never 600 ms apart, from its start to its end, the stop included.
    const pings = m.messages().filter((x) => x.fields.WATCHDOG === '1');
    expect(pings.every((x) => x.pid === run.pid)).toBe(true);
    for (let i = 1; i < pings.length; i++) expect(pings[i]!.at - pings[i - 1]!.at).toBeLessThan(450);
    expect(pings.at(-1)!.at).toBeGreaterThan(stopping.at - 300);
    m.run.signal('SIGTERM');
  });

  it("Type=notify-reload, a program that reloads itself on SIGHUP: its RELOADING=1 and READY=1 go on to the manager", async () => {
    const address = join(tempDir(), 'notify');
    const m = await manager(address);
    const run = start(['run', '--ready', 'notify', '--', PYTHON, fixture('notify.py'), '--reload-on-hup'], { env: { NOTIFY_SOCKET: address } });
    const child = await run.ready();
    await m.waitFor('READY=1', (x) => x.fields.READY === '1');
    const asked = monotonicMs();
    run.signal('SIGHUP');
    await run.stdout.waitFor(/reloaded/, 'the program to reload');
    const reloading = await m.waitFor('RELOADING=1', (x) => x.fields.RELOADING === '1');
    const again = await m.waitFor('READY=1 after the reload', (x) => x.fields.READY === '1' && x.at > reloading.at);
    expect(Number(reloading.fields.MONOTONIC_USEC) / 1000).toBeGreaterThanOrEqual(asked);
    expect(reloading.fields.STATUS).toMatch(new RegExp(`notify\\.py --reload-on-hup \\(pid ${child}\\) is reloading$`));
    // The program's 200 ms between its two messages, as it sent them.
    expect(again.at - reloading.at).toBeGreaterThanOrEqual(190);
    expect(again.fields.STATUS).toMatch(/is ready again$/);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    m.run.signal('SIGTERM');
  });

  it('Type=notify-reload: RELOADING=1 with the time of the request, then READY=1 once the new generation serves; STOPPING=1 only at the stop', async () => {
    const address = join(tempDir(), 'notify');
    const m = await manager(address);
    const port = await freePort();
    const run = start(['run', '--listen', `tcp://127.0.0.1:${port}`, '--ready', 'ipc', '--', node, fixture('listen-http.js')], { env: { NOTIFY_SOCKET: address } });
    await run.stdout.waitFor(/ready \d+ generation 1/, 'generation 1 to be ready');
    const first = await m.waitFor('READY=1 for generation 1', (x) => x.fields.READY === '1');
    expect(first.fields.STATUS).toMatch(/^generation 1 of .*listen-http\.js \(pid \d+\) serves$/);
    const asked = monotonicMs();
    run.signal('SIGHUP');
    const reloading = await m.waitFor('RELOADING=1', (x) => x.fields.RELOADING === '1');
    // MONOTONIC_USEC: when graceful took the request, on the machine's monotonic clock.
    const usec = Number(reloading.fields.MONOTONIC_USEC) / 1000;
    expect(usec).toBeGreaterThanOrEqual(asked);
    expect(usec).toBeLessThanOrEqual(reloading.at);
    expect(reloading.fields.STATUS).toBe('reload 1 (SIGHUP): starting generation 2');
    const second = await run.stdout.waitFor(/ready (\d+) generation 2/, 'generation 2 to be ready');
    const readyAgain = await m.waitFor('READY=1 after the reload', (x) => x.fields.READY === '1' && x.at > reloading.at);
    expect(readyAgain.fields.STATUS).toMatch(new RegExp(`^reload 1 switched: generation 2 of .*listen-http\\.js \\(pid ${second[1]}\\) serves$`));
    // The old generation's retirement is no stop of the service.
    await run.stderr.waitFor(/generation 1: .* stopped cleanly/, 'generation 1 to be gone');
    expect(m.messages().filter((x) => x.fields.STOPPING)).toEqual([]);
    run.signal('SIGTERM');
    await exitOf(run);
    await m.waitFor('STOPPING=1', (x) => x.fields.STOPPING === '1');
    expect(m.messages().map(keys).filter((k) => k !== 'STATUS' && k !== 'EXTEND_TIMEOUT_USEC')).toEqual(['READY+STATUS', 'RELOADING+MONOTONIC_USEC+STATUS', 'READY+STATUS', 'STOPPING+STATUS']);
    expect(m.messages().every((x) => x.pid === run.pid)).toBe(true);
    m.run.signal('SIGTERM');
  });
});
