// How a command is named in what people read: shortened to fit, never cut in the middle of
// the program's or the script's name (issue 11: "/usr/bin/node /tmp/x/p/fixtures/ignores-sigt...").
import { describe, expect, it } from 'vitest';
import { describeCommand } from '../../src/report/human.js';

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
