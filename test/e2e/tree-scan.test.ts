// The tree on real processes: what the /proc scan finds, and the fallback for platforms
// without /proc (tree-kill), exercised here by turning /proc off.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FOLLOW_UP_MS, Tree } from '../../src/shell/process/tree.js';

// sh (own session) -> sleep in the group, and a sleep that moved to a session of its own.
const SCRIPT = 'sleep 1000 & echo "grouped $!"; setsid sleep 1000 & echo "escaped $!"; wait';
const started: number[] = [];

function stateOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2)[0]!;
  } catch {
    return null;
  }
}
const gone = (pid: number) => stateOf(pid) === null || stateOf(pid) === 'Z';

// `detached`: sh in a session of its own; else in this process's group (terminal mode).
async function tree(detached = true): Promise<{ root: number; grouped: number; escaped: number }> {
  const sh = spawn('sh', ['-c', SCRIPT], { detached, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sh.stdout!.on('data', (d) => (out += d));
  const deadline = Date.now() + 5000;
  while (!/escaped \d+/.test(out) || !/grouped \d+/.test(out)) {
    if (Date.now() > deadline) throw new Error(`the tree did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const grouped = Number(/grouped (\d+)/.exec(out)![1]);
  const escaped = Number(/escaped (\d+)/.exec(out)![1]);
  started.push(sh.pid!, grouped, escaped);
  // setsid forks when it is a group leader; wait for the escaped sleep to be in its own session.
  while (Date.now() < deadline) {
    const s = readFileSync(`/proc/${escaped}/stat`, 'latin1');
    if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[3]) === escaped) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return { root: sh.pid!, grouped, escaped };
}

async function waitGone(pids: number[], ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pids.every(gone)) {
    if (Date.now() > deadline) throw new Error(`still alive: ${pids.filter((p) => !gone(p))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe('Tree', () => {
  it('/proc: finds the members that left the group and the session, and signals them all', async () => {
    const t = await tree();
    const members = new Tree(t.root).members().map((p) => p.pid);
    expect(members).toEqual(expect.arrayContaining([t.root, t.grouped, t.escaped]));
    new Tree(t.root).signalAll('SIGKILL');
    await waitGone([t.root, t.grouped, t.escaped]);
  });

  it('forward: the group and the members outside it, twice in a row from one scan', async () => {
    const t = await tree();
    const tr = new Tree(t.root);
    const stopped = (pid: number) => stateOf(pid) === 'T';
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    tr.forward('SIGSTOP');
    await until(() => [t.root, t.grouped, t.escaped].every(stopped));
    tr.forward('SIGCONT'); // within the scan's lifetime: no new scan, the same reach
    await until(() => [t.root, t.grouped, t.escaped].every((pid) => !stopped(pid)));
    tr.signalAll('SIGKILL');
    await waitGone([t.root, t.grouped, t.escaped]);
  });

  it('adopting: the group at once, the rest after a scan FOLLOW_UP_MS later, which flush() can force', async () => {
    const t = await tree();
    const adopting = new Tree(t.root, () => false);
    let signalled: number[] | null = null;
    adopting.signalAll('SIGSTOP', (members) => (signalled = members.map((p) => p.pid)));
    expect(signalled).toBe(null); // the scan has not happened yet
    await new Promise((r) => setTimeout(r, FOLLOW_UP_MS + 50));
    expect(signalled).toEqual(expect.arrayContaining([t.root, t.grouped, t.escaped]));
    let seen: number[] | null = null;
    adopting.whenScanned((members) => (seen = members.map((p) => p.pid)));
    adopting.flush();
    expect(seen).toEqual(expect.arrayContaining([t.root, t.grouped, t.escaped]));
    let killed: number[] | null = null;
    adopting.signalAll('SIGKILL', (members) => (killed = members.map((p) => p.pid)));
    adopting.flush();
    // The group died of the group signal already; the scan found the one outside it.
    expect(killed).toContain(t.escaped);
    await waitGone([t.root, t.grouped, t.escaped]);
  });

  it('terminal mode, the child in our own process group: each process by pid, never the group (it holds us)', async () => {
    const t = await tree(false);
    const self = readFileSync('/proc/self/stat', 'latin1');
    const ownGroup = Number(self.slice(self.lastIndexOf(')') + 2).split(' ')[2]);
    const shared = new Tree(t.root, null, true, ownGroup);
    expect(shared.members().map((p) => p.pid)).toEqual(expect.arrayContaining([t.root, t.grouped, t.escaped]));
    // What the terminal sent to our group already goes on to the members outside it only.
    shared.signalAll('SIGKILL', undefined, true);
    await waitGone([t.escaped]);
    expect(gone(t.root) || gone(t.grouped)).toBe(false);
    let killed: number[] = [];
    shared.signalAll('SIGKILL', (members) => (killed = members.map((p) => p.pid)));
    expect(killed).toEqual(expect.arrayContaining([t.root, t.grouped]));
    await waitGone([t.root, t.grouped]);
  });

  it('without /proc: the process group, plus tree-kill for the rest', async () => {
    const t = await tree();
    const noProc = new Tree(t.root, null, false);
    expect(noProc.count()).toBe(1); // "some": the group is all it can probe
    noProc.signalAll('SIGKILL');
    await waitGone([t.root, t.grouped, t.escaped]);
  });
});
