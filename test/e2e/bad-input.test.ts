// Bad input through the real CLI (bin/graceful.js): one line on stderr that names the
// option or the variable, exit status 2, nothing on stdout, no stack trace, nothing started
// (the harness's leak check). The whole matrix runs in-process (test/unit/bad-input.test.ts);
// here, the parser's own rejections and one case of each other path, each printing exactly
// the line the in-process run gives.
import { describe, expect, it } from 'vitest';
import { answer, MATRIX } from '../unit/bad-input-matrix.js';
import { exitOf, start, useHarness } from './harness.js';

useHarness();

const THROUGH_THE_CLI = [
  // Rejected by the command-line parser, before options.ts.
  'run --timout (unknown option)',
  'check --inflite (unknown option)',
  'run --timeout without a value',
  // Rejected by options.ts: a flag, a variable, a lifecycle option, graceful check's own
  // option, a missing command.
  'run --timeout "10x"',
  'run GRACEFUL_KILL_SIGNAL="SIGFOO"',
  'run --max-memory "10X"',
  'check GRACEFUL_INFLIGHT="http://10.1.2.3/slow"',
  'run without a command',
].map((name) => {
  const found = MATRIX.find((c) => c.name === name);
  if (!found) throw new Error(`no case named ${name} in the matrix`);
  return found;
});

describe('bad input through the CLI', () => {
  it.each(THROUGH_THE_CLI)('$name', async (c) => {
    const run = start(c.args, { env: c.env });
    const exit = await exitOf(run);
    expect(exit.code).toBe(2);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^graceful: /);
    expect(lines[0]).toContain(c.names);
    expect(run.stderr.text).not.toMatch(/\n\s+at /);
    expect(run.stdout.text).toBe('');
    if (c.parsed) expect(run.stderr.text).toBe(`${answer(c.parsed, c.env)!.line}\n`);
  });
});

// Each command's usage error points to that command's help (issue 21: check and reload used
// to say "see graceful run --help"); a stack check's (check -f) to graceful up's.
describe('the help hint is the command\'s', () => {
  it.each([
    [['run', '--bogus', '--', 'true'], 'graceful run --help'],
    [['check', '--bogus', '--', 'true'], 'graceful check --help'],
    [['check', '--timeout', '10x', '--', 'true'], 'graceful check --help'],
    [['reload', '--bogus'], 'graceful reload --help'],
    [['up', '--bogus'], 'graceful up --help'],
    [['check', '-f', '/nonexistent/stack.yml'], 'graceful up --help'],
    [['--bogus'], 'graceful --help'],
  ])('%j says see %s', async (args, hint) => {
    const run = start(args);
    expect((await exitOf(run)).code).toBe(2);
    expect(run.stderr.text).toMatch(new RegExp(`^graceful: [^\n]*; see ${hint.replace(/[-]/g, '\\-')}\n$`));
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
