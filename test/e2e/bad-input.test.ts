// The bad input matrix (bad-input-matrix.ts): each case must end in one line on stderr that
// names the option or the variable, exit status 2, nothing on stdout, no stack trace, and
// nothing started.
import { describe, expect, it } from 'vitest';
import { MATRIX } from './bad-input-matrix.js';
import { exitOf, start, useHarness } from './harness.js';

useHarness();

describe('the bad input matrix', () => {
  it(`covers every option (${MATRIX.length} cases)`, () => {
    expect(MATRIX.length).toBeGreaterThan(150);
  });

  it.each(MATRIX)('$name: one line naming it, status 2', async ({ args, env, names }) => {
    const run = start(args, { env });
    const exit = await exitOf(run);
    expect(exit.code).toBe(2);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^graceful: /);
    expect(lines[0]).toContain(names);
    expect(run.stderr.text).not.toMatch(/\n\s+at /);
    expect(run.stdout.text).toBe('');
  });
});

describe('accepted with a warning', () => {
  it('--stop-signal KILL runs, and says the child gets no chance to shut down', async () => {
    const run = start(['run', '--stop-signal', 'KILL', '--', 'true']);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/warning: --stop-signal SIGKILL cannot be caught: the child gets no chance to shut down gracefully/);
  });

  it('an empty variable is unset: GRACEFUL_TIMEOUT= leaves the default', async () => {
    const run = start(['run', '--', 'true'], { env: { GRACEFUL_TIMEOUT: '', GRACEFUL_STOP_SIGNAL: '' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).not.toMatch(/GRACEFUL_/);
  });
});
