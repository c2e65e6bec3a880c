// Parsers for the value types of graceful's options. Pure: each returns a value or throws a
// UsageError naming `what` (the flag or environment variable) and the accepted forms.
import { quote, UsageError } from './errors.js';

// setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days), so a longer
// grace period would silently become an immediate kill.
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h)/y;

// Parses 1500ms, 30s, 2m, 1m30s, 1h, 1.5s, or a bare number of seconds (as systemd does).
export function parseDuration(input: string, what: string): number {
  const fail = (): never => {
    throw new UsageError(what, `expected a duration like 30s, 1500ms, 2m or 1m30s, got ${quote(input)}`);
  };
  const text = input.trim();
  if (text === '') fail();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    ms = 0;
    PART.lastIndex = 0;
    while (PART.lastIndex < text.length) {
      const at = PART.lastIndex;
      const m = PART.exec(text);
      if (!m) fail();
      ms += Number(m![1]) * UNIT_MS[m![2]!]!;
      // Allow "1min 30s" (systemd's spelling) but not trailing junk.
      while (text[PART.lastIndex] === ' ') PART.lastIndex++;
      if (PART.lastIndex === at) fail();
    }
  }
  ms = Math.round(ms);
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new UsageError(what, `${quote(input)} is too long: at most ${formatDuration(MAX_DURATION_MS)}`);
  }
  return ms;
}

// Formats milliseconds the way parseDuration reads them back: 250ms, 1.5s, 2m, 1h2m3.004s.
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

// Parses the value of a boolean environment variable (GRACEFUL_QUIET=1, GRACEFUL_NO_KILL=true).
export function parseBoolean(input: string, what: string): boolean {
  const v = input.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new UsageError(what, `expected 1/0, true/false, yes/no or on/off, got ${quote(input)}`);
}

// Parses one of `choices`, case-insensitively.
export function parseChoice<T extends string>(input: string, choices: readonly T[], what: string): T {
  const v = input.trim().toLowerCase();
  const found = choices.find((c) => c === v);
  if (found) return found;
  throw new UsageError(what, `expected one of ${choices.join(', ')}, got ${quote(input)}`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

// Parses a memory size: bytes, or 512K, 512M, 1G, 1.5G (binary units, as PM2 reads them;
// KB, KiB, MB, MiB ... are read the same way).
export function parseSize(input: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])i?b?|(b))?$/i.exec(input.trim());
  const bytes = m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? m[3] ?? '').toLowerCase()]!) : NaN;
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) {
    throw new UsageError(what, `expected a size like 512M, 1G or a number of bytes, got ${quote(input)}`);
  }
  return bytes;
}

// Formats bytes the way parseSize reads them back: 512M, 1.5G, 1000.
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size && Number.isInteger((bytes / size) * 1000)) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
