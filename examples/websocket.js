// A WebSocket server (ws) on an HTTP server, shut down by graceful-supervisor/app: on SIGTERM or
// SIGINT it stops taking connections, sends every client a close frame (1001, going
// away) so that it can reconnect elsewhere, waits for the closing handshakes, and
// terminates whoever has not answered at the drain deadline.
//
//   PORT=3000 graceful run -- node examples/websocket.js
//
// Each client gets "tick <n>" every second and an echo of what it sends.
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { lifecycle } from 'graceful-supervisor/app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const life = lifecycle();

const server = http.createServer((req, res) => {
  if (req.url === '/readyz') return life.readiness(req, res);
  res.writeHead(426).end('use a WebSocket\n');
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
  socket.send('welcome');
});

let n = 0;
await life.use(
  'ticker',
  () => setInterval(() => wss.clients.forEach((c) => c.send(`tick ${++n}`)), 1000),
  (timer) => clearInterval(timer),
);

life.serve('websocket', wss); // the clients: close frames, then wait
life.serve('http', server); // the listener
server.listen(port, host, () => {
  life.ready();
  console.log(`listening on ws://${host}:${port} (pid ${process.pid})`);
});
