// The load balancer: haproxy from Debian, on loopback, configured so that no loss can hide:
// `retries 0` and no redispatch (a request sent to a replica that refuses or resets it is
// answered 503/502, never retried elsewhere), `http-reuse always` (idle connections to the
// replicas are kept and reused, as a busy load balancer's are: the race a keep-alive
// replica's close must not lose). One log line per request, with the id the generator
// gave it, the status, the termination state (who ended the session and how) and the
// server: the harness tells a refusal from a reset from a timeout with it, and when the
// load balancer last sent a request to a replica it was stopping.
//
// Replicas are slots declared up front (haproxy 2.6's dynamic servers would do too): two per
// replica, the old and the new of a rolling deploy; a slot not in use is in maintenance.
// The runtime API (its admin socket) moves a slot between ready, drain and maint, as
// Kubernetes' endpoints, ECS's target group and Consul do with their load balancers.
//
// Two ways of learning that a replica is there or gone (--lb):
// - probe: haproxy checks each slot's /readyz every 500 ms (fall 2, rise 2): a replica is
//   UP after two good answers and DOWN after two bad ones (graceful's --health-port, or
//   the app's own /readyz under the other PID 1s); the platform's own removal (maint)
//   comes on top.
// - endpoints: no health checks; the harness plays the endpoints controller: a slot is
//   made ready once the replica answers /readyz, and leaves only by maint. This is
//   Kubernetes behind a proxy that follows endpoints (ingress-nginx, kube-proxy).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { own } from './owned.mjs';

export const CHECK = { inter: 500, fall: 2, rise: 2 };

function config({ port, socket, slots, lb, serverClose }) {
  const check = lb === 'probe' ? `check inter ${CHECK.inter} fall ${CHECK.fall} rise ${CHECK.rise}` : '';
  // serverClose: a new connection to the replica for every request, closed after its answer
  // (a load balancer that keeps no pool): the work --stop-delay auto must see on connections
  // that live a few milliseconds.
  const reuse = serverClose ? '  option http-server-close\n  http-reuse never\n' : '';
  return `global
  maxconn 4096
  stats socket ${socket} mode 600 level admin
  log stdout format raw local0

defaults
  mode http
  log global
  option dontlognull
  retries 0
  no option redispatch
  http-reuse always
  timeout connect 2s
  # A check answers within 2 s or fails. Without it, haproxy gives a check only \`inter\`
  # (500 ms), and on a loaded machine a replica that is merely slow is marked DOWN: with
  # all three DOWN at once, requests are answered 503 with no server, a loss that is the
  # machine's, not the deploy's (seen in an idle run while another run started).
  timeout check 2s
  timeout client 60s
  timeout server 30s
  timeout http-request 10s
  timeout http-keep-alive 60s
  # The request's id, status, termination state, server, active time, bytes, accept date,
  # then Tq, Tw and Tc: the request left for the server at accept + Tq + Tw + Tc.
  log-format "fleet %hr %ST %tsc %s %Ta %B %Ts.%ms %Tq %Tw %Tc"

frontend web
  bind 127.0.0.1:${port}
  capture request header x-fleet-id len 24
  default_backend replicas

backend replicas
  balance roundrobin
${reuse}  option httpchk GET /readyz
  http-check expect status 200
${slots.map((s) => `  server ${s.name} 127.0.0.1:${s.port} ${check}${check ? ` port ${s.checkPort}` : ''} disabled`).join('\n')}
`;
}

/**
 * Starts haproxy in the foreground; `slots` are { name, port, checkPort }, all in
 * maintenance until `ready(name)`; `serverClose`: no connection to a replica is kept. Resolves once the admin socket answers.
 */
export async function startHaproxy({ dir, port, slots, lb, serverClose = false }) {
  const socket = join(dir, 'haproxy.sock');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, config({ port, socket, slots, lb, serverClose }));
  const proc = own.process(spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] }), 'haproxy');
  const log = []; // request lines
  const errors = [];
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) if (line.startsWith('fleet ')) log.push(line);
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk) => errors.push(chunk));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const command = (cmd) =>
    new Promise((resolve, reject) => {
      const conn = connect(socket);
      let out = '';
      conn.setEncoding('utf8').on('data', (c) => (out += c));
      conn.on('error', reject);
      conn.on('end', () => resolve(out));
      conn.write(`${cmd}\n`);
    });

  for (let i = 0; ; i++) {
    try {
      await command('show info');
      break;
    } catch (error) {
      if (proc.exitCode !== null || i > 200) throw new Error(`haproxy did not start: ${errors.join('').trim() || error.message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function set(slot, state) {
    const out = (await command(`set server replicas/${slot} state ${state}`)).trim();
    if (out) throw new Error(`haproxy: set server ${slot} state ${state}: ${out}`);
  }

  // Each slot's status as haproxy's stats show it: UP, DOWN, MAINT, DRAIN, NOLB,
  // "UP 1/2" (going down), "DOWN 1/2" (going up), "no check".
  async function statuses() {
    const csv = (await command('show stat')).trim().split('\n');
    const header = csv[0].replace(/^# /, '').split(',');
    const at = (name) => header.indexOf(name);
    const out = {};
    for (const line of csv.slice(1)) {
      const f = line.split(',');
      if (f[at('pxname')] === 'replicas' && f[at('svname')] !== 'BACKEND') out[f[at('svname')]] = f[at('status')];
    }
    return out;
  }

  return {
    port,
    pid: proc.pid,
    log,
    errors,
    command,
    statuses,
    ready: (slot) => set(slot, 'ready'),
    // Where a slot's replica is (--net pod: each replica at its own address).
    async address(slot, ip, port) {
      const out = (await command(`set server replicas/${slot} addr ${ip} port ${port}`)).trim();
      if (!/changed|no need to change/.test(out)) throw new Error(`haproxy: set server ${slot} addr ${ip} port ${port}: ${out}`);
    },
    drain: (slot) => set(slot, 'drain'),
    maint: (slot) => set(slot, 'maint'),
    // Waits until haproxy would send the slot new requests.
    async waitUp(slot, timeoutMs = 20_000) {
      const want = lb === 'probe' ? 'UP' : 'no check';
      const deadline = Date.now() + timeoutMs;
      let seen;
      while (Date.now() < deadline) {
        seen = (await statuses())[slot];
        if (seen === want) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`haproxy did not see ${slot} ${want} within ${timeoutMs} ms (last: ${seen})`);
    },
    // Log lines haproxy could not write (its stdout full): requests the harness cannot
    // classify from haproxy's side.
    async droppedLogs() {
      const m = /^DroppedLogs: (\d+)/m.exec(await command('show info'));
      return m ? Number(m[1]) : null;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGUSR1'); // soft stop: ends once idle
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      return exited;
    },
  };
}

/**
 * One log line -> { id, status, term, server, ms, at, sentAt }: `at` is when haproxy accepted
 * the request (epoch ms; on a kept-alive client connection, when the connection was ready
 * for it: the end of the previous answer), `ms` how long it took, `sentAt` when haproxy
 * sent it to the server (at + Tq, the idle time and the request's reception, + Tw, the
 * queue, + Tc, the connection to the server: 0 on a reused one), null if it never reached
 * one (Tc -1: refused or not tried), `routedAt` when it chose the server (a refused request
 * included: at + Tq + Tw). `term` is haproxy's termination state
 * (first two characters: who ended it, at which stage): "--" normal, "SC" the server
 * refused or could not be reached, "SH"/"SD" the server closed or reset before or during
 * the answer, "sH"/"sD" the server timed out, "CD"/"CH"/"cD" the client's side.
 */
export function parseLogLine(line) {
  const m = /^fleet \{([^}]*)\} (-?\d+) (\S{4}) (\S+) (-?\d+) (\d+) (\d+)\.(\d+)(?: (-?\d+) (-?\d+) (-?\d+))?/.exec(line);
  if (!m) return null;
  const at = Number(m[7]) * 1000 + Number(m[8]);
  const [tq, tw, tc] = [m[9], m[10], m[11]].map((t) => (t === undefined ? -1 : Number(t)));
  const sentAt = tq >= 0 && tw >= 0 && tc >= 0 ? at + tq + tw + tc : null;
  // When haproxy chose the server for it (a refused one included).
  const routedAt = tq >= 0 && tw >= 0 ? at + tq + tw : at;
  return { id: m[1], status: Number(m[2]), term: m[3].slice(0, 2), server: m[4], ms: Number(m[5]), at, sentAt, routedAt };
}
