// A root directory with nothing but graceful's standalone executable (GRACEFUL_BIN), the
// programs a test names, the shared libraries `ldd` lists for them, and what every container
// runtime provides anyway: enough for chroot (binary.test.ts) and for podman --rootfs
// (container.test.ts). No Node in it: the executable must bring its own.
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { BINARY, tempDir } from './harness.js';

// The libraries a program needs, as ldd resolves them (absolute paths only).
function libraries(program: string): string[] {
  return [...execFileSync('ldd', [program], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

function copyInto(root: string, file: string, as = file): void {
  mkdirSync(join(root, dirname(as)), { recursive: true });
  copyFileSync(file, join(root, as));
  chmodSync(join(root, as), 0o755);
}

// The root: /graceful, each of `programs` at its own path (/bin/sh by default), their
// libraries, /dev/null, an empty /proc and a /tmp for everyone, and fifos (`fifos`) the test
// writes to when it wants something to happen in there. Removed after the test (tempDir).
export function minimalRoot(options: { programs?: string[]; fifos?: string[] } = {}): string {
  const programs = options.programs ?? ['/bin/sh'];
  const root = tempDir();
  copyInto(root, BINARY!, '/graceful');
  for (const program of programs) copyInto(root, program);
  for (const lib of new Set([BINARY!, ...programs].flatMap(libraries))) copyInto(root, lib);
  // /dev/null, which Docker and every runtime provide: dash gives it to background jobs.
  mkdirSync(join(root, 'dev'));
  execFileSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
  mkdirSync(join(root, 'proc'));
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const fifo of options.fifos ?? []) execFileSync('mkfifo', [join(root, fifo)]);
  return root;
}
