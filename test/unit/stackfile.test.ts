// graceful up's file: what each form means (compose's names, run's names, defaults, a
// Procfile), and the one line each mistake gets. The values of run's options go through
// run's own resolution: the same flag, the same check.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/config/errors.js';
import { Lines, prefixes } from '../../src/commands/up/prefix.js';
import { loadStack, readCommand } from '../../src/commands/up/stackfile.js';
import type { UpOptions } from '../../src/commands/up/options.js';

const dir = mkdtempSync(join(tmpdir(), 'graceful-stackfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (file: string, over: Partial<UpOptions> = {}): UpOptions => ({
  file,
  fileFrom: '-f',
  names: [],
  deadlineMs: null,
  deadlineFrom: null,
  platform: null,
  exitWith: null,
  check: false,
  reportFile: null,
  subreaper: true,
  quiet: false,
  verbose: false,
  logFormat: 'human',
  health: null,
  finalScrapeMs: 0,
  ...over,
});

let n = 0;
function load(text: string, name = `s${n++}.yml`, over: Partial<UpOptions> = {}) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return loadStack(options(file, over));
}

function problem(text: string, over: Partial<UpOptions> = {}): string {
  try {
    load(text, `p${n++}.yml`, over);
  } catch (error) {
    if (error instanceof UsageError) return error.line('graceful up --help').replaceAll(dir, 'DIR');
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('a process', () => {
  it('compose names (stop_signal, stop_grace_period, environment, working_dir) and run names mean the same', () => {
    const stack = load(`
services:
  db:
    command: postgres -D data
    stop_signal: SIGINT
    stop_grace_period: 20s
    environment: [PGPORT=5433]
    working_dir: .
    ready: { exec: pg_isready -p 5433 }
  api:
    command: [node, api.js]
    depends_on:
      db: service_healthy
    timeout: 10s
    kill_mode: mixed
    pre_stop: curl -fsS -X POST localhost:3000/drain
    stop_delay: 2s
    restart: on-failure
    max_memory: 512M
    env: { PORT: 3000, DEBUG: false }
`);
    const [db, api] = stack.entries;
    expect(db!.run.command).toEqual(['postgres', '-D', 'data']);
    expect(db!.run.policy).toMatchObject({ stopSignal: 'SIGINT', timeoutMs: 20_000 });
    expect(db!.run.ready).toEqual({ kind: 'exec', command: 'pg_isready -p 5433' });
    expect(db!.env).toEqual({ PGPORT: '5433' });
    expect(db!.cwd).toBe(dir);
    expect(api!.dependsOn).toEqual([{ name: 'db', condition: 'ready', restart: false }]);
    expect(api!.run.policy).toMatchObject({ timeoutMs: 10_000, killMode: 'mixed', preStop: 'curl -fsS -X POST localhost:3000/drain', stopDelayMs: 2000 });
    expect(api!.run.lifecycle.restart.mode).toBe('on-failure');
    expect(api!.run.lifecycle.maxMemory).toBe(512 * 1024 * 1024);
    expect(api!.env).toEqual({ PORT: '3000', DEBUG: 'false' });
    expect(api!.run.terminal).toBe(false);
  });

  it('depends_on as a list: ready when the dependency has a probe, else started; compose and process-compose spellings', () => {
    const stack = load(`
processes:
  a: { command: sleep 1, ready: tcp:5000 }
  b: sleep 1
  c:
    command: sleep 1
    depends_on: [a, b]
  d:
    command: sleep 1
    depends_on:
      a: { condition: process_healthy, restart: true }
      b: { condition: service_completed_successfully }
      c: started
`);
    expect(stack.entries[2]!.dependsOn).toEqual([
      { name: 'a', condition: 'ready', restart: false },
      { name: 'b', condition: 'started', restart: false },
    ]);
    expect(stack.entries[3]!.dependsOn).toEqual([
      { name: 'a', condition: 'ready', restart: true },
      { name: 'b', condition: 'completed', restart: false },
      { name: 'c', condition: 'started', restart: false },
    ]);
  });

  it('defaults apply to every process that does not set the key; env merges; YAML merge keys and x- fields work', () => {
    const stack = load(`
x-slow: &slow
  timeout: 1m
defaults:
  timeout: 5s
  env: { LOG: info, REGION: eu }
processes:
  a: { command: sleep 1 }
  b:
    <<: *slow
    command: sleep 1
    env: { LOG: debug }
`);
    expect(stack.entries[0]!.run.policy.timeoutMs).toBe(5000);
    expect(stack.entries[0]!.env).toEqual({ LOG: 'info', REGION: 'eu' });
    expect(stack.entries[1]!.run.policy.timeoutMs).toBe(60_000);
    expect(stack.entries[1]!.env).toEqual({ LOG: 'debug', REGION: 'eu' });
  });

  it('a command line runs directly when it is plain words, through sh -c when it uses the shell', () => {
    // Quotes are read as sh reads them: no shell is needed for them (an empty word stays one).
    expect(readCommand('x', 'redis-server --port 6379 --save ""')).toEqual(['redis-server', '--port', '6379', '--save', '']);
    expect(readCommand('x', 'PORT=3000 node app.js')).toEqual(['sh', '-c', 'PORT=3000 node app.js']);
    expect(readCommand('x', 'redis-server --port 6379')).toEqual(['redis-server', '--port', '6379']);
    expect(readCommand('x', 'npm run migrate && node app.js')).toEqual(['sh', '-c', 'npm run migrate && node app.js']);
    expect(readCommand('x', 'echo $HOME')).toEqual(['sh', '-c', 'exec echo $HOME']);
    expect(readCommand('x', 'test -d data || initdb -D data')).toEqual(['sh', '-c', 'test -d data || initdb -D data']);
    expect(readCommand('x', ['node', 'app.js', 3000])).toEqual(['node', 'app.js', '3000']);
  });

  // Lines as real Procfiles have them (issue 24: a ; inside quotes was taken for shell syntax,
  // the line ran without exec, and the program inside never got SIGTERM).
  it.each([
    ['/bin/sh -c "trap \\"echo worker TERM; exit 0\\" TERM; sleep 1000 & wait"', ['/bin/sh', '-c', 'trap "echo worker TERM; exit 0" TERM; sleep 1000 & wait']],
    ['bundle exec puma -C config/puma.rb', ['bundle', 'exec', 'puma', '-C', 'config/puma.rb']],
    ["python -c 'import app; app.main()'", ['python', '-c', 'import app; app.main()']],
    ['gunicorn app:app --bind 0.0.0.0:$PORT --workers 2', ['sh', '-c', 'exec gunicorn app:app --bind 0.0.0.0:$PORT --workers 2']],
    ['node server.js > log/web.log 2>&1', ['sh', '-c', 'exec node server.js > log/web.log 2>&1']],
    ['bin/rails db:migrate && bin/rails server', ['sh', '-c', 'bin/rails db:migrate && bin/rails server']],
    ['celery -A proj worker -l info # the queue', ['sh', '-c', 'celery -A proj worker -l info # the queue']],
    ['node dist/*.js', ['sh', '-c', 'exec node dist/*.js']],
    ['~/bin/app --serve', ['sh', '-c', 'exec ~/bin/app --serve']],
    ['node -e "console.log(\\`$(date)\\`)"', ['sh', '-c', 'exec node -e "console.log(\\`$(date)\\`)"']],
    ['exec node app.js', ['sh', '-c', 'exec node app.js']],
    ['node "unbalanced', ['sh', '-c', 'node "unbalanced']],
  ])('%s', (line, argv) => {
    expect(readCommand('x', line)).toEqual(argv);
  });

  it('a Procfile: one process per line, no dependencies', () => {
    const stack = load('# the app\nweb: node server.js --port 5000\nworker: node worker.js\n\n', 'Procfile');
    expect(stack.entries.map((e) => [e.name, e.run.command])).toEqual([
      ['web', ['node', 'server.js', '--port', '5000']],
      ['worker', ['node', 'worker.js']],
    ]);
    expect(stack.processes.every((p) => p.dependsOn.length === 0)).toBe(true);
  });

  it('naming processes selects them and what they depend on; --exit-with adds its own', () => {
    const text = 'processes:\n  a: sleep 1\n  b: { command: sleep 1, depends_on: [a] }\n  c: { command: sleep 1, depends_on: [b] }\n  t: { command: sleep 1, depends_on: [a] }\n';
    expect(load(text, 'sel1.yml', { names: ['b'] }).entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(load(text, 'sel2.yml', { names: ['b'], exitWith: 't' }).entries.map((e) => e.name)).toEqual(['a', 'b', 't']);
  });
});

describe('each mistake is one line, naming the file, the process and the key', () => {
  it.each([
    ['processes:\n  a: { command: sleep 1, depends_on: [b] }\n  b: { command: sleep 1, depends_on: [a] }', 'DIR/X: a dependency cycle: a -> b -> a; one of them must not wait for the other; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, kill_mode: some }', 'DIR/X: a.kill_mode: expected one of group, mixed, process, got "some"; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, stop_signal: SIGNOPE }', 'DIR/X: a.stop_signal: expected a signal name like SIGTERM, TERM or a number like 15, got "SIGNOPE"; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, ready: "carrier-pigeon" }', 'DIR/X: a.ready: unknown kind; expected tcp:PORT, tcp:HOST:PORT, http://HOST:PORT/PATH, log:REGEX, exec:COMMAND, ipc, notify or app, got "carrier-pigeon"; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, stop_grace_period: 10s, timeout: 5s }', 'DIR/X: a.timeout: sets what stop_grace_period already sets; keep one; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, kill: "no" }', 'DIR/X: a.kill: expected true or false, got "no"; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, depends_on: { b: healthyish } }\n  b: sleep 1', 'DIR/X: a.depends_on.b: unknown condition "healthyish"; expected started, ready or completed (compose\'s service_started, service_healthy, service_completed_successfully also do); see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, on_exit: explode }', 'DIR/X: a.on_exit: expected stop (the stack stops when it ends), stop-on-failure (when it fails: the default) or continue, got "explode"; see graceful up --help'],
    ['processes:\n  a: { command: sleep 1, cwd: nowhere }', 'DIR/X: a.cwd: DIR/nowhere is not a directory; see graceful up --help'],
    ['processes:\n  a: { depends_on: [] }', 'DIR/X: a.command: missing: the program to run, as a line (node app.js) or a list ([node, app.js]); see graceful up --help'],
    ['processes:\n  "bad name": sleep 1', 'DIR/X: bad name: a process name is letters, digits, and . _ - after the first character; see graceful up --help'],
    ['volumes:\n  x: 1\nprocesses:\n  a: sleep 1', 'DIR/X: volumes: not a key of a stack file; the top level has processes: (or services:), defaults: and x- extension fields; see graceful up --help'],
    ['processes: {}', 'DIR/X: no processes; expected processes: (or services:), each a name with its command; see graceful up --help'],
    ['- a\n- b', 'DIR/X: expected a map with processes: (or services:), each a name with its command; see graceful up --help'],
  ])('%#: %s', (text, line) => {
    const got = problem(text);
    expect(got.replace(/p\d+\.yml/, 'X')).toBe(line);
    expect(got).not.toContain('\n');
  });

  it('a Procfile line that is not "name: command"', () => {
    const file = join(dir, 'Procfile.bad');
    writeFileSync(file, 'web: node a.js\nthis is not a process\n');
    expect(() => loadStack(options(file))).toThrow(/Procfile\.bad:2: expected "name: command", got "this is not a process"/);
  });
});

describe('the name in front of each line', () => {
  // A destination that records each write.
  function sink() {
    const writes: string[] = [];
    const dest = new Writable({
      write(chunk, _e, done) {
        writes.push(chunk.toString());
        done();
      },
    });
    return { dest, text: () => writes.join(''), writes };
  }
  const write = (s: Writable, text: string) => new Promise<void>((r) => s.write(Buffer.from(text), () => r()));

  it('aligned names, | for stdout and ! for stderr', () => {
    const { out, err } = prefixes(['db', 'worker'], null);
    expect(out).toEqual({ db: 'db     | ', worker: 'worker | ' });
    expect(err).toEqual({ db: 'db     ! ', worker: 'worker ! ' });
  });

  it('whole lines, split across chunks, from two processes: each line whole after its name; every byte kept', async () => {
    const { dest, text } = sink();
    const lines = new Lines(dest);
    const a = lines.stream('a | ');
    const b = lines.stream('b | ');
    await write(a, 'one\ntw');
    await write(b, 'alpha\n');
    await write(a, 'o\nthree\n');
    await write(b, 'bytes \u00e9\u00e8\n');
    expect(text()).toBe('a | one\nb | alpha\na | two\na | three\nb | bytes \u00e9\u00e8\n');
  });

  it('a partial line is shown after a moment (a prompt); another process then starts on a new line; the rest continues without a second name', async () => {
    const { dest, text } = sink();
    const lines = new Lines(dest);
    const a = lines.stream('a | ');
    const b = lines.stream('b | ');
    await write(a, 'Password: ');
    await new Promise((r) => setTimeout(r, 150));
    expect(text()).toBe('a | Password: ');
    await write(a, 'ok\n');
    await write(a, 'half');
    await new Promise((r) => setTimeout(r, 150));
    await write(b, 'b line\n');
    await write(a, ' done\n');
    expect(text()).toBe('a | Password: ok\na | half\nb | b line\na |  done\n');
  });

  it('the last line without a newline gets one at the end', async () => {
    const { dest, text } = sink();
    const a = new Lines(dest).stream('a | ');
    await write(a, 'last');
    await new Promise<void>((r) => a.end(r));
    expect(text()).toBe('a | last\n');
  });
});
