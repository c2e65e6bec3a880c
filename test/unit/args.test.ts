// graceful run's own command-line parser (options.ts, parseRunArgs) against commander's
// reading of the same line (program.ts): whatever the fast parser takes, commander must
// take too, with the same command and the same flags. Where they would differ, the fast
// parser must give up (null) and leave the line to commander.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRunArgs, reader, type Inputs } from '../../src/config/args.js';
import { RUN_OPTIONS, RUN_SPECS, type RunKey } from '../../src/config/options.js';
import { program } from '../../src/cli/program.js';

// Commander's reading: the run action's inputs, or the error it threw.
async function commander(args: string[]): Promise<{ command: string[]; flags: Inputs['flags'] } | Error> {
  let seen: Pick<Inputs, 'command' | 'flags'> | null = null;
  const cli = program({
    run: async (given) => void (seen = given),
    check: async () => {},
    reload: async () => {},
    up: async () => {},
    ctl: async () => {},
  });
  try {
    await cli.parseAsync(['node', 'graceful', 'run', ...args]);
  } catch (error) {
    return error as Error;
  }
  const given = seen as Pick<Inputs, 'command' | 'flags'> | null;
  if (!given) return new Error('the run action did not run');
  return { command: given.command, flags: given.flags };
}

const names = RUN_SPECS.flatMap((s) => s.flags.split(/[ ,]+/).filter((w) => w.startsWith('-')));
// Words people type on this command line, and near misses of them.
const word = fc.oneof(
  fc.constantFrom(...names),
  fc.constantFrom('--', '-', '-qv', '-t5s', '--quiet=1', '--no-kill=0', '--timeout=', '--timeout=5s', '--ready=log:x=y', '--bogus', '-x', '---timeout', '--no-quiet', '--Timeout'),
  fc.constantFrom('5s', '1500ms', 'SIGTERM', 'node', 'app.js', 'sh', '-c', 'echo hi', '', ' ', 'log:^ready$', 'always', '=', '--x=y'),
  fc.string({ maxLength: 6 }),
);

describe('parseRunArgs', () => {
  it('reads what commander reads, or leaves the line to commander', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 8 }), async (args) => {
        const fast = parseRunArgs(args, RUN_SPECS);
        if (fast === null) return;
        taken++;
        const slow = await commander(args);
        expect(slow).not.toBeInstanceOf(Error);
        expect(fast).toEqual(slow);
      }),
      { numRuns: 3000 },
    );
    // The property is not vacuous: most lines people type are taken.
    expect(taken).toBeGreaterThan(300);
  });

  it('takes the usual lines', async () => {
    for (const args of [
      ['--', 'node', 'app.js'],
      ['-t', '10s', '--kill-mode', 'mixed', '--', 'node', 'app.js', '--port', '3000'],
      ['--timeout=10s', '-q', '--no-kill', 'sleep', '5'],
      ['--ready', 'log:^ready$', '--restart', 'on-failure', '--', 'sh', '-c', 'exit 1'],
      ['--pre-stop', '--drain', '--', 'x'],
    ]) {
      const fast = parseRunArgs(args, RUN_SPECS);
      expect(fast, args.join(' ')).not.toBeNull();
      expect(fast).toEqual(await commander(args));
    }
  });

  it('leaves help, unknown options, missing values and a missing command to commander', () => {
    for (const args of [['--help'], ['-h'], ['--bogus', '--', 'x'], ['--timeout'], ['-q'], ['--'], [], ['-qv', '--', 'x'], ['--quiet=1', '--', 'x']]) {
      expect(parseRunArgs(args, RUN_SPECS), args.join(' ')).toBeNull();
    }
  });
});

// The compiler knows every key (issue 21: a typo `readyTimout` compiled, and surfaced only as
// 228 failing tests). `npm run typecheck` (CI) fails if an expected error below goes away.
describe('option keys are typed from their table', () => {
  it('a key no option has does not compile', () => {
    const read = reader(RUN_OPTIONS, { command: ['x'], flags: { readyTimeout: '5s' }, env: {}, exists: () => false, pid: 1 });
    expect(read.text('readyTimeout')).toEqual({ value: '5s', from: '--ready-timeout' });
    // @ts-expect-error: no option of graceful run is named readyTimout
    expect(() => read.text('readyTimout')).toThrow();
    // @ts-expect-error: a flag of check is not one of run's
    const _flags: Inputs<RunKey>['flags'] = { inflightCount: '3' };
    expect(_flags).toBeDefined();
  });
});
