// Writing what graceful reports to files (--report-file, --junit): atomically, and with one
// line on stderr, never an exception, when a file cannot be written. Used by run and check.
import { accessSync, closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Where a failure to write is said (the run's Ui). */
export interface Say {
  error(text: string): void;
}

// Writes `text` to the file `flag` names, or says in one line why it could not.
export function writeOutput(flag: string, path: string, text: string, ui: Say): void {
  try {
    writeFileAtomic(path, text);
  } catch (error) {
    ui.error(`${flag} ${path}: could not be written: ${(error as Error).message}`);
  }
}

// A JSON document, as --report-file writes it.
export function writeJson(flag: string, path: string, data: unknown, ui: Say): void {
  writeOutput(flag, path, `${JSON.stringify(data, null, 2)}\n`, ui);
}

// Says at start, not only at the end, that a file cannot be written there: the run goes on.
export function checkOutputPath(flag: string, path: string | null, ui: Say): void {
  if (path === null) return;
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    ui.error(`${flag} ${path}: its directory is not writable (${(error as NodeJS.ErrnoException).code}); the run goes on without it`);
  }
}

// O_EXCL, not the name, is what makes the temp file safe; the name only has to be unlikely
// to clash (node:crypto would cost start-up time for nothing).
function uniqueSuffix(): string {
  return `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
}

// Writes `data` to `path` atomically: a fresh temp file beside it (O_EXCL: never follows a
// symlink planted at that name; mode 0600: reports can name commands and paths), fsync,
// then rename over the target.
export function writeFileAtomic(path: string, data: string, unique = uniqueSuffix()): void {
  const tmp = join(dirname(path), `.${basename(path)}.${unique}.tmp`);
  const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
}
