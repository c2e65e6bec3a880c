// The replicas' image: a root directory holding only what they run, built the way
// test/e2e/binary.test.ts builds its minimal root: each program and the shared libraries
// `ldd` lists for it. One root serves every replica (podman --rootfs mounts it, and the
// replicas write nothing there but graceful's nameless O_TMPFILE files in /tmp).
//
//   /graceful               the standalone executable (npm run build:binary), when given
//   /usr/bin/node           Debian's node, for app.mjs and as a bare PID 1
//   /usr/bin/python3        Debian's python3 and its standard library, for app.py
//   /usr/bin/tini, /usr/bin/dumb-init   Debian's, as the other PID 1s
//   /app/app.mjs, /app/app.py
//   /app/app-lib.cjs, /app/lifecycle.cjs   the Node app on graceful's library, and the
//                           library's build (packages/graceful-lifecycle, npm run build)
import { execFileSync } from 'node:child_process';
import { chmodSync, constants, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
// The library's CommonJS build, as npm installs it (scripts/build-app.js writes it).
export const LIBRARY = join(HERE, '../../packages/graceful-lifecycle/dist/index.cjs');

// The libraries a program needs, as ldd resolves them (absolute paths only).
function libraries(program) {
  return [...execFileSync('ldd', [program], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
}

function copyInto(root, file, as = file) {
  const target = join(root, as);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  // A reflink where the filesystem has them, else a copy: never a hard link, whose mode
  // and contents the container would share with the host's file.
  copyFileSync(file, target, constants.COPYFILE_FICLONE);
}

function copyProgram(root, program, as = program) {
  const real = realpathSync(program);
  copyInto(root, real, as);
  chmodSync(join(root, as), 0o755);
  for (const lib of libraries(real)) copyInto(root, lib);
}

// Debian's python3 (the real file, not pyenv's shim on PATH) and its version.
export function debianPython() {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return null;
  const real = realpathSync(python);
  const version = /python(\d+\.\d+)$/.exec(real)?.[1];
  return version && existsSync(`/usr/lib/python${version}/os.py`) ? { path: real, version } : null;
}

export const TOOLS = { node: '/usr/bin/node', tini: '/usr/bin/tini', 'dumb-init': '/usr/bin/dumb-init' };

// Builds the root in `root` (an empty directory); `graceful` is the standalone executable.
export function buildRoot(root, { graceful }) {
  if (graceful) copyProgram(root, graceful, '/graceful');
  for (const tool of Object.values(TOOLS)) if (existsSync(tool)) copyProgram(root, tool);
  const python = debianPython();
  if (python) {
    copyProgram(root, python.path, '/usr/bin/python3');
    // The standard library, found by python from its own path (/usr/bin -> /usr/lib), and
    // what its C extensions link against.
    const lib = `/usr/lib/python${python.version}`;
    cpSync(lib, join(root, lib), { recursive: true, filter: (src) => !/\/(site-packages|dist-packages|test|idlelib|tkinter|turtledemo)$/.test(src) });
    for (const ext of readdirSync(join(lib, 'lib-dynload'))) {
      if (ext.endsWith('.so')) for (const dep of libraries(join(lib, 'lib-dynload', ext))) copyInto(root, dep);
    }
  }
  for (const app of ['app.mjs', 'app.py', 'app-lib.cjs']) copyInto(root, join(HERE, app), `/app/${basename(app)}`);
  if (existsSync(LIBRARY)) copyInto(root, LIBRARY, '/app/lifecycle.cjs');
  for (const dir of ['proc', 'dev', 'sys', 'etc', 'run']) mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  return { python: python !== null, library: existsSync(LIBRARY) };
}
