// How a command is named in what people read: shortened to fit, never cut in the middle of
// the program's or the script's name (issue 11: "/usr/bin/node /tmp/x/p/fixtures/ignores-sigt...").
import { describe, expect, it } from 'vitest';
import { describeCommand, summaryLine } from '../../src/report/human.js';
import { Sim } from './sim.js';

describe('describeCommand', () => {
  it('shows a command that fits as a shell would, quoting what needs it', () => {
    expect(describeCommand(['node', 'app.js', '--port', '3000'])).toBe('node app.js --port 3000');
    expect(describeCommand(['sh', '-c', "echo 'hi'"])).toBe(`sh -c 'echo '\\''hi'\\'''`);
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'])).toBe('/usr/bin/node /tmp/x/p/fixtures/ignores-sigterm.js');
  });

  it('shortens the executable to its base name, then the middle of the path, keeping the script name', () => {
    const long = '/tmp/tmp.Xb3kQ9/a/much/longer/checkout/path/than/usual/graceful/fixtures/ignores-sigterm.js';
    expect(describeCommand(['/usr/bin/node', long])).toBe('node /tmp/.../fixtures/ignores-sigterm.js');
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'], 40)).toBe('node /tmp/.../ignores-sigterm.js');
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'], 30)).toBe('node .../ignores-sigterm.js');
  });

  it('lets the arguments after the script go before the script', () => {
    const long = '/srv/releases/2024-06-01T12-00-00/app/server.js';
    expect(describeCommand(['/usr/local/bin/node', long, '--port', '3000', '--workers', '16', '--verbose'], 40)).toBe('node .../server.js --port 3000 ...');
    expect(describeCommand(['python3', '-m', 'http.server', '8000', '--bind', '127.0.0.1', '--directory', '/srv/files'], 30)).toBe('python3 -m http.server ...');
  });

  it('leaves URLs and words with spaces whole, and cuts only a name too long for any room', () => {
    expect(describeCommand(['curl', 'http://127.0.0.1:3000/a/very/long/path/to/something', '-o', '/dev/null'])).toBe('curl http://127.0.0.1:3000/a/very/long/path/to/something ...');
    expect(describeCommand(['node', 'a-script-with-an-extremely-long-name.js'], 20)).toBe('node a-script-wit...');
  });
});

// The summary line on a fake clock: every figure the user reads is pinned, so that a wrong
// number in the renderer fails here.
const died = (signal: string, signo: number, survivors = 0) => ({ type: 'child-exited' as const, code: null, signal, signo, survivors });

describe('the summary line', () => {
  it('states the grace period that applied: EXTEND_TIMEOUT_USEC moves it, and the line says so', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 200;
    sim.feed({ type: 'extend-timeout', ms: 3300 }); // until 3500
    sim.advanceTo(3500);
    sim.now = 3502;
    sim.feed(died('SIGKILL', 9));
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +3.50s (grace period of 3.50s over), died of SIGKILL at +3.50s; exit status 137 [escalated]',
    );
  });

  it('kill mode mixed: the SIGKILL to the rest of the tree is for the main exit, not the grace period', () => {
    const sim = Sim.started({ timeoutMs: 20_000, killMode: 'mixed' });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 4;
    sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 2 });
    sim.now = 6;
    sim.feed({ type: 'tree-empty' });
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) stopped, but the rest of its tree had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +4ms (the main process exited, kill mode mixed), exited with code 0 at +4ms, the rest of its tree gone at +6ms; exit status 0 [escalated]',
    );
  });

  it('a second Ctrl+C is named as the reason for the kill', () => {
    const sim = Sim.started({ timeoutMs: 30_000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 800;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 801;
    sim.feed(died('SIGKILL', 9));
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) was killed on request: SIGINT received, SIGINT sent at +0ms, SIGKILL sent at +800ms (second Ctrl+C), died of SIGKILL at +801ms; exit status 137 [escalated]',
    );
  });
});
