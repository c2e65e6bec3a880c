// A child with a subtree of <n> sleeps (default 200), all ignoring SIGTERM: only a kill
// ends them. Prints "ready" once all of them run.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const n = Number(process.argv[2] ?? 200);
process.on('SIGTERM', () => {});
const sh = spawn('sh', ['-c', `trap '' TERM; i=0; while [ $i -lt ${n} ]; do sleep 1000 & i=$((i+1)); done; wait`], { stdio: 'ignore' });
const poll = setInterval(() => {
  let sleeps = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === sh.pid) sleeps++;
    } catch {}
  }
  if (sleeps >= n) {
    clearInterval(poll);
    process.stdout.write('ready\n');
  }
}, 20);
setInterval(() => {}, 1 << 30);
