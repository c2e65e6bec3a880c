// The orphans of a stack: processes graceful adopted (it is a subreaper, or PID 1) once their
// parent died. Which program one came from is read from the mark every program's environment
// carries (and its descendants inherit); those nobody can claim, or that outlived their
// program, are stopped after the stack.
import { environHas, isInherited, isNodeChild, ownChildren } from '../../shell/process/pid1.js';
import { commandOf, readProc, scanProcs, tryKill } from '../../shell/process/tree.js';

// How long the orphans left after the last program (processes adopted by graceful that
// left their own session: no program can claim them) get to exit on the stop signal before
// the kill signal.
const ORPHAN_GRACE_MS = 2000;
// How often they are looked for meanwhile.
const ORPHAN_POLL_MS = 20;
// The variable that names, in each program's environment (and its descendants'), the
// process of the stack it belongs to.
const OWNER = 'GRACEFUL_UP_PROCESS';

// The mark of program `name`, for its environment: inherited by everything it starts.
export function ownerEnv(name: string): Record<string, string> {
  return { [OWNER]: name };
}

// Does process `pid` carry the mark of program `name`?
export function ownedBy(pid: number, name: string): boolean {
  return environHas(pid, `${OWNER}=${name}`);
}

// Stops the processes adopted by graceful that no program claimed (they cleared their
// environment) or that outlived their program: the stop signal, then, after ORPHAN_GRACE_MS,
// the kill signal. Only graceful's own children can be such orphans (it is a subreaper, or
// PID 1); those Node spawned (a program, a probe) are not; `spare` keeps some.
export async function stopOrphans(now: () => number, spare: (pid: number) => boolean): Promise<{ pid: number; command: string }[]> {
  const live = (pid: number) => {
    const info = readProc(pid);
    return info !== null && info.state !== 'Z' && info.ppid === process.pid;
  };
  const orphans = (): number[] => (ownChildren() ?? scanProcs().filter((p) => p.ppid === process.pid).map((p) => p.pid)).filter((pid) => !isNodeChild(pid) && !isInherited(pid) && live(pid) && !spare(pid));
  const found = orphans();
  if (found.length === 0) return [];
  const named = found.map((pid) => ({ pid, command: commandOf(pid) || '?' }));
  for (const pid of found) {
    tryKill(pid, 'SIGTERM');
    tryKill(pid, 'SIGCONT');
  }
  const deadline = now() + ORPHAN_GRACE_MS;
  while (orphans().length > 0 && now() < deadline) await new Promise((r) => setTimeout(r, ORPHAN_POLL_MS));
  for (const pid of orphans()) tryKill(pid, 'SIGKILL');
  return named;
}
