// The value parsers: what each accepts, and the one-line error for what it does not.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/config/errors.js';
import { parseSuccessStatuses } from '../../src/config/options.js';
import { formatDuration, MAX_DURATION_MS, parseBoolean, parseDuration } from '../../src/config/parse.js';
import { parseSignal, statusForSignal, TRAPPED } from '../../src/config/signals.js';

describe('durations', () => {
  it.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1min 30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['30', 30_000],
    ['0.25', 250],
    ['0', 0],
    [' 10s ', 10_000],
    ['5sec', 5000],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it.each(['10x', '-1s', '1e999', '', ' ', 's', '1m30', '30 s s', 'Infinity', 'NaN', '1,5s', '99999999h'])(
    'rejects %j with a UsageError naming the option',
    (text) => {
      expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
      try {
        parseDuration(text, '--timeout');
      } catch (e) {
        expect((e as UsageError).line('graceful run --help')).toMatch(/^--timeout: .*; see graceful run --help$/);
        expect((e as UsageError).line('graceful run --help')).not.toContain('\n');
      }
    },
  );

  it('formats what it parses back to the same value', () => {
    for (const ms of [0, 1, 999, 1000, 1500, 59_999, 60_000, 90_000, 3_600_000, 3_723_004, MAX_DURATION_MS]) {
      expect(parseDuration(formatDuration(ms), 'x')).toBe(ms);
    }
  });
});

describe('signals', () => {
  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['TERM', 'SIGTERM'],
    ['term', 'SIGTERM'],
    ['15', 'SIGTERM'],
    ['sigint', 'SIGINT'],
    ['9', 'SIGKILL'],
    ['KILL', 'SIGKILL'],
  ])('%s is %s', (text, name) => {
    expect(parseSignal(text, '--stop-signal')).toBe(name);
  });

  it.each(['SIGFOO', '0', '99', '', 'SIG', '-15', '15.0'])('rejects %j', (text) => {
    expect(() => parseSignal(text, '--stop-signal')).toThrow(/^--stop-signal: expected a signal/);
  });

  it('exit status for a death by signal is 128 + n', () => {
    expect(statusForSignal('SIGKILL')).toBe(137);
    expect(statusForSignal('SIGTERM')).toBe(143);
  });

  it('traps the stop signals and forwards the signals a wrapper must pass on', () => {
    const by = Object.fromEntries(TRAPPED.map((s) => [s.name, s.disposition]));
    expect(by).toMatchObject({ SIGTERM: 'stop', SIGINT: 'stop', SIGHUP: 'forward', SIGQUIT: 'forward', SIGUSR1: 'forward', SIGUSR2: 'forward', SIGWINCH: 'forward', SIGTSTP: 'suspend' });
    expect(by.SIGKILL).toBeUndefined();
    expect(by.SIGCHLD).toBeUndefined();
  });
});

describe('other values', () => {
  it('success statuses: codes and signal names, commas or spaces', () => {
    expect(parseSuccessStatuses('143, SIGTERM 1 hup', 'x')).toEqual({ codes: [143, 1], signals: ['SIGTERM', 'SIGHUP'] });
    expect(() => parseSuccessStatuses('256', '--success-exit-status')).toThrow(/0 to 255/);
    expect(() => parseSuccessStatuses('SIGNOPE', '--success-exit-status')).toThrow(UsageError);
  });

  it('booleans from the environment', () => {
    expect(parseBoolean('1', 'X')).toBe(true);
    expect(parseBoolean('Yes', 'X')).toBe(true);
    expect(parseBoolean('0', 'X')).toBe(false);
    expect(parseBoolean('', 'X')).toBe(false);
    expect(() => parseBoolean('maybe', 'GRACEFUL_QUIET')).toThrow(/^GRACEFUL_QUIET: expected 1\/0/);
  });
});
