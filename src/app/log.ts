// PURE: each phase as the one line logged when graceful is not there to show it.
import type { Phase } from './protocol.js';

// Milliseconds for people: 850ms, 1.25s, 30s.
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(2).replace(/0$/, '')}s`;
}

const BUDGET_FROM = {
  graceful: "graceful's deadline",
  env: 'GRACEFUL_STOP_TIMEOUT_MS',
  option: 'timeoutMs',
  default: 'the default',
} as const;

// The phase as one line.
export function describe(p: Phase): string {
  switch (p.phase) {
    case 'hello':
      return `${p.name} (pid ${p.pid}) reports its phases to graceful`;
    case 'opened':
      return `opened ${p.name} in ${formatMs(p.ms)}`;
    case 'ready':
      return `ready ${formatMs(p.uptimeMs)} after start`;
    case 'stopping': {
      const why = p.trigger === 'shutdown' ? 'shutdown()' : p.trigger === 'start-failed' ? 'the start failed' : `${p.trigger} received`;
      const reason = p.reason ? ` (${p.reason})` : '';
      const delay = p.delayMs > 0 ? `still serving for ${formatMs(p.delayMs)}, then ` : '';
      return `${why}${reason}: stopping within ${formatMs(p.budgetMs)} (${BUDGET_FROM[p.budgetFrom]}): ${delay}drain until +${formatMs(p.drainEndsMs)}, then close resources`;
    }
    case 'not-accepting': {
      const what = p.sources.length > 0 ? p.sources.join(', ') : 'no server registered';
      return `not accepting new work (${what}) at +${formatMs(p.afterMs)}; ${p.inflight} in flight`;
    }
    case 'drained': {
      const ended = (p.ended ?? 0) > 0 ? `; ended ${p.ended} that did not answer the close frame` : '';
      const cut = p.cut > 0 ? `; cut ${p.cut} at the drain deadline` : '';
      const errors = p.sources.filter((s) => s.error !== null).map((s) => `; ${s.name} failed: ${s.error}`);
      return `drained ${p.completed} in ${formatMs(p.ms)}${ended}${cut}${errors.join('')}`;
    }
    case 'closing':
      return `closing ${p.name} (timeout ${formatMs(p.timeoutMs)})`;
    case 'closed':
      return describeClosed(p);
    case 'done':
      return `shutdown done in ${formatMs(p.afterMs)}: ${p.ok ? 'everything closed' : 'not everything closed'}; exit status ${p.exitCode}`;
    case 'forced':
      return `${p.signal} again: exiting now with status ${p.exitCode}, skipping the rest of the shutdown`;
  }
}

// The phase as a part of a list (graceful's summary: "its own shutdown: drained 5 in 722ms,
// closed postgres in 4ms, redis did not close within 1.2s"): without what the list's
// sentence says itself (the exit status, what happens next).
export function brief(p: Phase): string {
  if (p.phase === 'closed' && p.outcome === 'timeout') return `${p.name} did not close within ${formatMs(p.ms)}`;
  if (p.phase === 'done') return p.ok ? 'everything closed' : 'not everything closed';
  return describe(p);
}

function describeClosed(p: Extract<Phase, { phase: 'closed' }>): string {
  switch (p.outcome) {
    case 'closed':
      return `closed ${p.name} in ${formatMs(p.ms)}`;
    case 'failed':
      return `${p.name} failed to close after ${formatMs(p.ms)}: ${p.error}`;
    case 'timeout':
      return `${p.name} did not close within ${formatMs(p.ms)}; going on`;
  }
}
