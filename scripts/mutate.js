// npm run mutate [-- NAME...]: are the figures users read pinned by tests (STYLE.md, habit
// 13)? Each mutation of test/mutations.json changes one exact text of one file (a default, a
// limit, a status, a renderer's figure), runs the test files it names, and expects each of
// them to fail; the file is then restored, whatever happens (a failure, Ctrl+C, SIGTERM; a
// SIGKILL leaves a backup that the next run restores first). Prints killed or survived per
// mutation; exits 1 if any survived, or if its text is no longer found exactly once (the
// code moved: update the list, so that it stays true).
//
// NAME: run only the mutations whose name contains it. --list: print the list and stop.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIST = join(ROOT, 'test/mutations.json');
// Where the file being mutated is saved while it is: in the checkout (node_modules/ is not
// committed), so that a run killed by SIGKILL is undone by the next one.
const BACKUP = join(ROOT, 'node_modules/.mutate-backup.json');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

const args = process.argv.slice(2);
const mutations = JSON.parse(readFileSync(LIST, 'utf8'));
const wanted = args.filter((a) => !a.startsWith('--'));
const chosen = wanted.length ? mutations.filter((m) => wanted.some((w) => m.name.includes(w))) : mutations;
if (args.includes('--list')) {
  for (const m of mutations) {
    console.log(`${m.name} (${m.why})\n  ${m.file}: ${JSON.stringify(m.find)} -> ${JSON.stringify(m.replace)}\n  killed by ${m.tests.join(', ')}${m.testName ? ` (tests named like ${JSON.stringify(m.testName)})` : ''}`);
  }
  process.exit(0);
}
if (chosen.length === 0) {
  console.error(`mutate: no mutation's name contains ${wanted.map((w) => JSON.stringify(w)).join(' or ')} (npm run mutate -- --list)`);
  process.exit(2);
}

restoreBackup('a previous run was killed before it could restore');

// Restores the mutated file, if any. Synchronous: it runs from signal handlers and on exit.
function restoreBackup(why) {
  if (!existsSync(BACKUP)) return false;
  const { file, text } = JSON.parse(readFileSync(BACKUP, 'utf8'));
  writeFileSync(join(ROOT, file), text);
  unlinkSync(BACKUP);
  if (why) console.error(`mutate: restored ${file} (${why})`);
  return true;
}

let child = null;
let distMutated = false;
// dist/ is what the e2e tests run: built again from the restored sources before leaving.
function rebuildIfNeeded() {
  if (!distMutated) return;
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  distMutated = built.status !== 0;
  if (distMutated) console.error('mutate: dist/ still holds a mutated build: run npm run build');
}
// Ctrl+C (or SIGTERM, SIGHUP): the source is restored at once; the tests are asked to stop
// with SIGTERM (the graceful processes among them then stop their own trees, which live in
// sessions of their own), killed if they have not within 5 s; then dist/ is rebuilt. A
// second signal leaves at once.
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    const status = 128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig];
    restoreBackup(`${sig} received`);
    if (stopping) process.exit(status);
    stopping = true;
    const leave = () => {
      rebuildIfNeeded();
      process.exit(status);
    };
    if (!child) return leave();
    const group = child.pid;
    child.once('exit', leave);
    const send = (s) => {
      try {
        process.kill(-group, s);
      } catch {}
    };
    send('SIGTERM');
    setTimeout(() => send('SIGKILL'), 5000).unref();
  });
}
process.on('exit', () => restoreBackup('exiting'));

// Runs the test files (only the tests named like `testName`, if given); resolves with each
// file's failed tests (by the JSON reporter).
function runTests(files, testName) {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-mutate-'));
  const out = join(dir, 'report.json');
  return new Promise((resolve) => {
    // The e2e tests count on a quiet machine no more than the suite does: no bail, the
    // files' own timeouts. Detached, so that Ctrl+C reaches this script alone and ends the
    // run's whole group through the handler above.
    child = spawn(process.execPath, [VITEST, 'run', '--reporter=json', `--outputFile=${out}`, ...(testName ? ['-t', testName] : []), ...files], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    child.on('exit', (code) => {
      child = null;
      let report = null;
      try {
        report = JSON.parse(readFileSync(out, 'utf8'));
      } catch {}
      rmSync(dir, { recursive: true, force: true });
      const failed = new Map(files.map((f) => [f, []]));
      for (const result of report?.testResults ?? []) {
        const file = relative(ROOT, result.name);
        const names = result.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName);
        // A file that failed to load (a syntax error, an import the mutation broke) fails as a whole.
        if (names.length === 0 && result.status === 'failed') names.push(`(the file: ${result.message.split('\n')[0]})`);
        if (failed.has(file)) failed.get(file).push(...names);
      }
      resolve({ code, failed, stderr, ran: report !== null });
    });
  });
}

const results = [];
for (const m of chosen) {
  const path = join(ROOT, m.file);
  const tag = `${m.name}`;
  const original = existsSync(path) ? readFileSync(path, 'utf8') : null;
  const count = original === null ? 0 : original.split(m.find).length - 1;
  if (count !== 1) {
    const where = count === 0 ? `mutation text not found in ${m.file}${original === null ? ' (no such file)' : ''}` : `mutation text found ${count} times in ${m.file} (must be once)`;
    const elsewhere = spawnSync('git', ['grep', '-l', '-F', '--', m.find], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    console.log(`NOT FOUND  ${tag}: ${where}: ${JSON.stringify(m.find)}${elsewhere.length ? ` (it is in ${elsewhere.join(', ')}: update test/mutations.json)` : ''}`);
    results.push('not-found');
    continue;
  }
  const missing = m.tests.filter((t) => !existsSync(join(ROOT, t)));
  if (missing.length) {
    console.log(`NOT FOUND  ${tag}: no test file ${missing.join(', ')}`);
    results.push('not-found');
    continue;
  }
  writeFileSync(BACKUP, JSON.stringify({ file: m.file, text: original }));
  writeFileSync(path, original.replace(m.find, () => m.replace));
  const e2e = m.tests.some((t) => t.startsWith('test/e2e/'));
  const started = Date.now();
  let verdict;
  try {
    if (e2e) {
      distMutated = true;
      const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js')], { cwd: ROOT, encoding: 'utf8' });
      if (built.status !== 0) {
        // A mutation must change a figure, not break the build: fix the mutation.
        verdict = { kind: 'broken', why: `the build failed: ${built.stderr.trim().split('\n').slice(-3).join(' ')}` };
      }
    }
    if (!verdict) {
      const run = await runTests(m.tests, m.testName);
      // Interrupted: the signal handler leaves once the tests are gone; no verdict.
      if (stopping) await new Promise(() => {});
      const passed = m.tests.filter((t) => run.failed.get(t).length === 0);
      if (!run.ran) verdict = { kind: 'broken', why: `vitest reported nothing (exit ${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' ')}` };
      else if (passed.length === m.tests.length) verdict = { kind: 'survived' };
      else if (passed.length > 0) verdict = { kind: 'partly', why: `${passed.join(', ')} passed: each test file listed must fail` };
      else verdict = { kind: 'killed', by: m.tests.map((t) => run.failed.get(t)[0]) };
    }
  } finally {
    restoreBackup(null);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (verdict.kind === 'killed') console.log(`killed     ${tag} (${secs}s): ${verdict.by.join('; ')}`);
  else if (verdict.kind === 'survived') console.log(`SURVIVED   ${tag} (${secs}s): ${m.tests.join(', ')} passed with ${m.file}: ${JSON.stringify(m.find)} -> ${JSON.stringify(m.replace)}`);
  else console.log(`${verdict.kind === 'partly' ? 'PARTLY    ' : 'BROKEN    '} ${tag} (${secs}s): ${verdict.why}`);
  results.push(verdict.kind);
}
rebuildIfNeeded();

const killed = results.filter((r) => r === 'killed').length;
console.log(`\n${killed} of ${results.length} mutations killed${killed < results.length ? `; ${results.length - killed} not: ${['survived', 'partly', 'not-found', 'broken'].map((k) => `${results.filter((r) => r === k).length} ${k}`).join(', ')}` : ''}`);
process.exit(killed === results.length ? 0 : 1);
