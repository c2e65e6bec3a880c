// How the phases read: as a log line (the library's stderr, graceful's step lines) and as a
// part of graceful's summary, where the sentence itself says the exit status.
import { expect, it } from 'vitest';
import { brief, describe } from '../../src/app/log.js';
import type { Phase } from '../../src/app/protocol.js';
import type { Facts } from '../../src/core/types.js';
import { ownShutdown } from '../../src/report/human.js';

const closedTimeout: Phase = { phase: 'closed', afterMs: 4_800, name: 'postgres', ms: 1_425, outcome: 'timeout', error: null };
const failedDone: Phase = { phase: 'done', afterMs: 4_900, ok: false, exitCode: 1 };

it('a drain that ended silent WebSocket clients says how many, apart from the cut', () => {
  const drained: Phase = { phase: 'drained', afterMs: 5_001, ms: 5_000, completed: 2, cut: 0, ended: 1, sources: [] };
  expect(describe(drained)).toBe('drained 2 in 5s; ended 1 that did not answer the close frame');
  expect(describe({ ...drained, ended: 0, cut: 3 })).toBe('drained 2 in 5s; cut 3 at the drain deadline');
});

it("graceful's summary lists the program's own steps without repeating the exit status or 'going on'", () => {
  expect(describe(closedTimeout)).toBe('postgres did not close within 1.43s; going on');
  expect(brief(closedTimeout)).toBe('postgres did not close within 1.43s');
  expect(brief(failedDone)).toBe('not everything closed');
  const phases = [
    { phase: 'drained', afterMs: 2_850, ms: 2_850, completed: 0, cut: 1, ended: 0, sources: [] },
    closedTimeout,
    { phase: 'closed', afterMs: 4_900, name: 'redis', ms: 3, outcome: 'closed', error: null },
    failedDone,
  ].map((phase) => ({ phase }));
  const own = ownShutdown({ phases } as unknown as Facts);
  expect(own).toBe('drained 0 in 2.85s; cut 1 at the drain deadline, postgres did not close within 1.43s, closed redis in 3ms, not everything closed');
  expect(own).not.toMatch(/exit status|going on/);
});
