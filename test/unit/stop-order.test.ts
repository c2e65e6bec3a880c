// On a stop, the stop signal's kill() is the first thing graceful does once the signal is
// read: no line written (the first write used to start libuv's thread pool: four threads
// created before the kill), no /proc scan, nothing that can wait (issue 12). The same for
// the kill at the deadline. The shell runs for real here (the supervisor, the machine, the
// Tree, the Ui) with its effects recorded in one log: the output (output.ts), /proc reads
// (node:fs), kill() (process.kill), and the child and the reaper faked.
import type * as Fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Event } from '../../src/core/types.js';

const log: string[] = [];
const PID = 999_991; // the fake child's: never signalled for real (process.kill is replaced)

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const proc = (path: unknown) => typeof path === 'string' && path.startsWith('/proc');
  return {
    ...fs,
    default: fs,
    readdirSync: ((path: string, ...rest: unknown[]) => {
      if (proc(path)) log.push(`scan ${path}`);
      return (fs.readdirSync as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.readdirSync,
    openSync: ((path: string, ...rest: unknown[]) => {
      if (proc(path)) log.push(`read ${path}`);
      return (fs.openSync as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.openSync,
  };
});

vi.mock('../../src/shell/ui/output.js', () => ({
  say: (text: string) => void log.push(`output ${text.trim()}`),
  prepareOutput: () => void log.push('prepare output'),
  drained: async () => true,
  fdStream: () => {
    throw new Error('no stream in this test');
  },
}));

// The trap: the test delivers the signal itself, as the handler would.
let deliver: ((event: Extract<Event, { type: 'stop-requested' }>) => void) | null = null;
vi.mock('../../src/shell/trap.js', () => ({
  Trap: class {
    route(d: typeof deliver) {
      deliver = d;
    }
  },
}));

// A child that starts at once and exits when the test says.
let exitChild: ((code: number | null, signal: string | null) => void) | null = null;
vi.mock('../../src/shell/process/child.js', () => ({
  spawnChild: (_command: string[], on: { spawned(pid: number): void; exited(code: number | null, signal: string | null): void }) => {
    exitChild = on.exited;
    queueMicrotask(() => on.spawned(PID));
    return {
      pid: PID,
      proc: null,
      exited: false,
      drained: async () => {},
      signal: (signal: string) => (log.push(`kill ${PID} ${signal}`), true),
    };
  },
}));

// A subreaper (the default on Linux), or none (--no-subreaper, or no FFI).
let subreaper = true;
vi.mock('../../src/shell/process/pid1.js', () => ({
  startReaper: () =>
    subreaper ? { reaper: { reaped: 0, reap: () => {}, childless: () => true, watch: () => () => {} }, problem: null } : { reaper: null, problem: null },
  pdeathsigHelper: () => null,
  isNodeChild: () => false,
  isInherited: () => false,
  inheritedAlive: () => [],
}));

const { resolveRunOptions } = await import('../../src/config/options.js');
const { Supervisor } = await import('../../src/shell/supervisor.js');
const { Trap } = await import('../../src/shell/trap.js');

function options(flags: Record<string, string | boolean>) {
  return resolveRunOptions({ command: ['fake-child'], flags, env: {}, exists: () => false, pid: process.pid });
}

const until = async (what: string, ok: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the log:\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 1));
  }
};

// Starts a supervisor on the fake child and waits until it is idle after the start.
async function supervising(flags: Record<string, string | boolean>) {
  const supervisor = new Supervisor(options(flags), {}, { trap: new Trap(() => 0) });
  const done = supervisor.start();
  await until('the child to start', () => supervisor.pid === PID && log.includes('prepare output'));
  await new Promise((r) => setTimeout(r, 30)); // past the warm-up
  return { supervisor, done };
}

// The signal arrives: what graceful does from then on.
function signal(): number {
  log.push('SIGNAL SIGTERM');
  deliver!({ type: 'stop-requested', at: performance.now(), signal: 'SIGTERM' });
  return log.indexOf('SIGNAL SIGTERM');
}

beforeEach(() => {
  log.length = 0;
  subreaper = true;
  vi.spyOn(process, 'kill').mockImplementation((pid: number, sig?: string | number) => {
    if (Math.abs(pid) !== PID) throw new Error(`the test would have signalled ${pid}`);
    log.push(`kill ${pid} ${sig}`);
    // The group probe after the child's exit: gone.
    if (sig === 0) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the stop path', () => {
  it.each([
    ['group', `kill -${PID} SIGTERM`],
    ['mixed', `kill ${PID} SIGTERM`],
    ['process', `kill ${PID} SIGTERM`],
  ])('kill mode %s: the stop signal is the first effect after the signal arrives', async (mode, kill) => {
    const { done } = await supervising({ killMode: mode });
    const at = signal();
    await until('the step lines', () => log.slice(at).some((e) => e.startsWith('output')));
    expect(log[at + 1], log.join('\n')).toBe(kill);
    // The rest came after: what graceful says, and in group mode the scan for the rest of
    // the tree (FOLLOW_UP_MS later).
    expect(log.slice(at + 1).findIndex((e) => e.startsWith('output'))).toBeGreaterThan(0);
    exitChild!(0, null);
    await done;
  });

  it('without a subreaper, the tree is scanned before the group signal: by design', async () => {
    // A member that left the process group is linked to the tree only by its parent, which
    // the group signal may kill: it would be orphaned out of sight (tree.ts, signalAll).
    subreaper = false;
    const { done } = await supervising({});
    const at = signal();
    await until('the kill', () => log.includes(`kill -${PID} SIGTERM`));
    const kill = log.indexOf(`kill -${PID} SIGTERM`);
    expect(log.slice(at + 1, kill).every((e) => e.startsWith('scan') || e.startsWith('read'))).toBe(true);
    expect(log.slice(at + 1, kill).some((e) => e.startsWith('output'))).toBe(false);
    exitChild!(0, null);
    await done;
  });

  it('the kill signal at the deadline goes before the words about it', async () => {
    const { done } = await supervising({ timeout: '40ms' });
    signal();
    await until('the kill signal', () => log.some((e) => e.endsWith('SIGKILL') && e.startsWith('kill')));
    await until('the lines', () => log.some((e) => e.startsWith('output') && e.includes('SIGKILL') && e.includes('over')));
    const kill = log.findIndex((e) => e.endsWith('SIGKILL') && e.startsWith('kill'));
    const said = log.findIndex((e) => e.startsWith('output') && e.includes('SIGKILL') && e.includes('over'));
    expect(kill, log.join('\n')).toBeLessThan(said);
    // Nothing but the kill between the stop's own effects and it: the timer fired, kill().
    expect(log[kill - 1]?.startsWith('output') || log[kill - 1]?.startsWith('scan') || log[kill - 1]?.startsWith('read') || log[kill - 1]?.startsWith('kill')).toBe(true);
    exitChild!(null, 'SIGKILL');
    await done;
  });
});

describe('the exit path', () => {
  it('no /proc scan and no thread pool start once the child has exited: its status, then the exit', async () => {
    const { supervisor, done } = await supervising({});
    const at = log.length;
    exitChild!(3, null);
    const outcome = await done;
    expect(outcome.status).toBe(3);
    expect(supervisor.state.phase.kind).toBe('done');
    const after = log.slice(at);
    // The group probe (kill(-pgid, 0): gone) and the subreaper's word that no child is left
    // stand for the scan; the pool was started while idle after the spawn.
    expect(after.filter((e) => e.startsWith('scan') || e.startsWith('read')), log.join('\n')).toEqual([]);
    expect(after).not.toContain('prepare output');
    expect(after[0]).toBe(`kill -${PID} 0`);
  });
});
