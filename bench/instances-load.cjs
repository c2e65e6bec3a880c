// A worker thread of the instances bench's load (bench/instances.mjs): `loops` clients,
// each on its own kept-alive connection, sending the next request as soon as the last is
// answered, for `ms` milliseconds. Posts the count, the errors and every latency (ms).
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');

const { port, loops, ms } = workerData;
const latencies = [];
let errors = 0;
const until = performance.now() + ms;

function once(agent) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - t0);
        else errors++;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
}

async function loop() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  while (performance.now() < until) await once(agent);
  agent.destroy();
}

Promise.all(Array.from({ length: loops }, loop)).then(() => parentPort.postMessage({ latencies, errors }));
