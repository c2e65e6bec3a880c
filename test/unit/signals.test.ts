// The signal table and the vocabulary the compiler checks: the stop signals are named once
// (core/types.ts STOP_SIGNALS) and the table's stop rows are exactly those; a name and its
// number go both ways, real-time signals included; 128 + n has one road.
import { describe, expect, it } from 'vitest';
import { STOP_SIGNALS } from '../../src/core/types.js';
import { parseSignal, signalName, signalNumber, statusForSignal, TRAPPED } from '../../src/config/signals.js';

describe('the signal table', () => {
  it('its stop rows (with or without --interactive) are the stop signals, and only those', () => {
    const stops = TRAPPED.filter((s) => s.disposition === 'stop' || s.interactive === 'stop').map((s) => s.name);
    expect([...stops].sort()).toEqual([...STOP_SIGNALS].sort());
  });

  it('names and numbers go both ways, real-time signals as SIGRTMIN+n', () => {
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(34)).toBe('SIGRTMIN+0');
    expect(signalName(64)).toBe('SIGRTMIN+30');
    expect(signalNumber('SIGRTMIN+30')).toBe(64);
    expect(signalNumber('SIGRTMIN+31')).toBeNull();
    expect(signalName(65)).toBeNull();
  });

  it('128 + n for a signal, by name', () => {
    expect(statusForSignal('SIGTERM')).toBe(143);
    expect(statusForSignal('SIGINT')).toBe(130);
    expect(statusForSignal('SIGKILL')).toBe(137);
  });

  it('reads a name, a short name or a number, and names the value it refuses', () => {
    expect(parseSignal('term', '--stop-signal')).toBe('SIGTERM');
    expect(parseSignal('15', '--stop-signal')).toBe('SIGTERM');
    expect(() => parseSignal('SIGTREM', '--stop-signal')).toThrow(/--stop-signal: expected a signal name like SIGTERM, TERM or a number like 15, got "SIGTREM"/);
  });
});
