// Property tests of the value parsers (fast-check): what is formatted parses back to the
// same value, and no input makes a parser throw anything but a UsageError.
import fc from 'fast-check';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/config/errors.js';
import { formatDuration, formatSize, MAX_DURATION_MS, parseDuration, parseSize } from '../../src/config/parse.js';
import { parseReady } from '../../src/config/readiness.js';
import { parseSignal } from '../../src/config/signals.js';

const RUNS = 2000;

// Runs `parse` on `input`: a value, or a UsageError; anything else fails the property.
function total<T>(parse: (input: string) => T, input: string): boolean {
  try {
    parse(input);
    return true;
  } catch (error) {
    return error instanceof UsageError && !error.line('graceful run --help').includes('\n');
  }
}

// Strings that look like the values people type, and strings that do not.
const durationLike = fc.oneof(
  fc.string(),
  fc.stringMatching(/^-?\d{0,12}(\.\d{0,4})?\s?(ms|s|sec|m|min|h|x|e\d+)?(\d+(ms|s|m|h))?$/),
);

describe('durations', () => {
  it('parse(format(ms)) === ms', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms), 'x') === ms), { numRuns: RUNS });
  });

  it('any input: a duration within the limits, or a UsageError', () => {
    fc.assert(
      fc.property(durationLike, (input) => {
        if (!total((s) => parseDuration(s, '--timeout'), input)) return false;
        try {
          const ms = parseDuration(input, '--timeout');
          return Number.isInteger(ms) && ms >= 0 && ms <= MAX_DURATION_MS;
        } catch {
          return true;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('sizes', () => {
  it('parse(format(bytes)) === bytes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 50 }), (bytes) => parseSize(formatSize(bytes), 'x') === bytes), { numRuns: RUNS });
  });

  it('any input: a positive whole number of bytes, or a UsageError', () => {
    const sizeLike = fc.oneof(fc.string(), fc.stringMatching(/^-?\d{0,16}(\.\d{0,3})?\s?([kKmMgGtTbB]i?[bB]?|x)?$/));
    fc.assert(
      fc.property(sizeLike, (input) => {
        if (!total((s) => parseSize(s, '--max-memory'), input)) return false;
        try {
          const bytes = parseSize(input, '--max-memory');
          return Number.isSafeInteger(bytes) && bytes > 0;
        } catch {
          return true;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('signals', () => {
  const names = Object.keys(constants.signals);
  it('every name, short name and number parses to the canonical name of the same number', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.constantFrom('full', 'short', 'lower', 'number'), (name, form) => {
        const n = (constants.signals as Record<string, number>)[name]!;
        const input = form === 'full' ? name : form === 'short' ? name.slice(3) : form === 'lower' ? name.toLowerCase() : String(n);
        const parsed = parseSignal(input, 'x');
        return (constants.signals as Record<string, number>)[parsed] === n;
      }),
      { numRuns: RUNS },
    );
  });

  it('any input: a known signal, or a UsageError', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.integer().map(String)), (input) => total((s) => parseSignal(s, '--stop-signal'), input)), { numRuns: RUNS });
  });
});

describe('readiness probes', () => {
  it('any input: a probe, or a UsageError', () => {
    const readyLike = fc.oneof(fc.string(), fc.string().map((s) => `tcp:${s}`), fc.string().map((s) => `log:${s}`), fc.string().map((s) => `http://${s}`));
    fc.assert(fc.property(readyLike, (input) => total((s) => parseReady(s, '--ready'), input)), { numRuns: RUNS });
  });

  it('rejects ports out of range, accepts the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 100_000 }), (port) => {
        const ok = port >= 1 && port <= 65535;
        return total((s) => parseReady(s, '--ready'), `tcp:${port}`) && (ok ? (parseReady(`tcp:${port}`, 'x') as { port: number }).port === port : true);
      }),
    );
    expect(() => parseReady('tcp:65536', '--ready')).toThrow(UsageError);
  });
});
