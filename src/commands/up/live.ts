// graceful up's live area while the stack stops (display.ts draws it on a terminal): a header
// with the stack's own countdown, then a row per program: its countdown while it stops, how
// it ended, what it waits for. Pure: from the stack's state, each program's runs and the
// state of its machine.
import type { StackState } from '../../core/stack.js';
import { timeline } from '../../core/timeline.js';
import type { State } from '../../core/types.js';
import { FORCE_HINT, human, statusLine, timeLeft } from '../../report/human.js';
import type { Programs } from './narration.js';

// The rows at `now`; `machine` is a program's machine while its supervisor runs (else null).
export function liveRows(state: StackState, programs: Programs, machine: (name: string) => State | null, now: number): string[] {
  const phase = state.phase;
  const head =
    phase.kind === 'stopping'
      ? `stopping the stack (${phase.cause.kind === 'signal' ? `${phase.cause.signal} received` : phase.cause.kind === 'check' ? 'graceful check' : `${phase.cause.name} ended`}): ${human(now - phase.requestedAt)}${phase.deadline !== null ? `, ${timeLeft(phase.deadline, now)} of the deadline` : ''}${phase.forced ? ', killing' : `, ${FORCE_HINT}`}`
      : 'stopped';
  const width = Math.max(...[...programs.keys()].map((n) => n.length));
  const rows = [head];
  for (const [name, p] of programs) {
    const st = state.procs[name]!.state;
    let what: string;
    if (st.kind === 'ended') {
      const run = p.runs[p.runs.length - 1];
      const tl = run ? timeline(run.facts, p.entry.run.policy) : null;
      what = run && tl ? `${tl.shutdownMs !== null ? `stopped in ${human(tl.shutdownMs)}` : 'ended'} [${tl.verdict}]` : 'not started';
    } else if (st.kind === 'stopping') {
      // The header says what a second Ctrl+C does, once for the whole stack.
      const m = machine(name);
      const s = m ? statusLine(m, p.entry.run.policy, now, false) : null;
      what = s ? s.what : 'stopping';
    } else if (st.kind === 'waiting' && state.procs[name]!.held) {
      what = 'stopped (graceful ctl stop)';
    } else if (st.kind === 'running') {
      const waits = [...programs.values()].map((q) => q.entry).filter((e) => e.dependsOn.some((d) => d.name === name) && ['running', 'stopping'].includes(state.procs[e.name]!.state.kind)).map((e) => e.name);
      what = `running; stops after ${waits.join(', ')}`;
    } else what = 'not started';
    rows.push(`${name.padEnd(width)}  ${what}`);
  }
  return rows;
}
