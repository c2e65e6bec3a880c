# The fleet's Python replica, the twin of app.mjs with the standard library only (it runs
# on Debian's python3 copied into the container's root). On SIGTERM or SIGINT it stops
# accepting (the listening socket closes), closes idle keep-alive connections, finishes
# what is in flight (answered with Connection: close), and exits 0.
#
#   GET /readyz      200 until the stop signal, then 503
#   GET /slow?ms=N   answers after N ms (at most 10 s)
#   GET /anything    answers at once
#
# PORT and HOST say where to listen (HOST: 127.0.0.1 by default; 0.0.0.0 in a network
# namespace of its own, --net pod). Prints `ready <pid> port <port>` once listening.
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

draining = threading.Event()
lock = threading.Lock()
# Each open connection and whether a request is being served on it; the idle ones are
# closed when the drain starts, the busy ones after their answer.
connections = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as haproxy's pool expects

    def setup(self):
        super().setup()
        with lock:
            connections[self] = False
            if draining.is_set():
                self.close_connection = True

    def finish(self):
        with lock:
            connections.pop(self, None)
        super().finish()

    def handle_one_request(self):
        # BaseHTTPRequestHandler's loop, with the connection marked busy from the first byte
        # of a request to the end of its answer.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        with lock:
            connections[self] = True
        try:
            if not self.parse_request():
                return
            if self.command != 'GET':
                self.send_error(405)
                return
            self.do_GET()
            self.wfile.flush()
        finally:
            with lock:
                connections[self] = False
            if draining.is_set():
                self.close_connection = True

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(data)))
        if draining.is_set():
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == '/readyz':
            if draining.is_set():
                self.answer(503, 'draining\n')
            else:
                self.answer(200, 'ready\n')
            return
        if url.path == '/slow':
            ms = min(int(parse_qs(url.query).get('ms', ['1000'])[0]), 10000)
            time.sleep(ms / 1000)
            self.answer(200, 'slept %dms\n' % ms)
            return
        self.answer(200, 'ok\n')

    def log_message(self, *args):
        pass  # one line per request would be most of the replica's work


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the in-flight requests
    block_on_close = True
    request_queue_size = 511  # as Node's backlog; the default 5 drops connections under load

    def handle_error(self, request, client_address):
        # A peer that resets its connection (haproxy ends its health checks so) is not an
        # error of the server's; anything else is printed as socketserver would.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


server = Server((os.environ.get('HOST') or '127.0.0.1', int(os.environ['PORT'])), Handler)


def stop(signum, frame):
    # os.write, not print: a second signal can arrive while the first one's line is being
    # printed (Heroku signals every process, and tini forwards it once more), and a
    # buffered print re-entered from a handler raises RuntimeError.
    os.write(1, b'signal %s\n' % signal.Signals(signum).name.encode())
    if draining.is_set():
        return  # a second signal (Heroku's, or a supervisor's) changes nothing
    draining.set()
    # serve_forever runs in this (the main) thread: shutdown() must be called from another.
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print('ready %d port %d' % (os.getpid(), server.server_address[1]), flush=True)
server.serve_forever(poll_interval=0.05)
server.socket.close()  # stop accepting: new connections are refused from here
with lock:
    idle = [h for h, busy in connections.items() if not busy]
for handler in idle:
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
server.server_close()  # joins every handler thread: the in-flight requests finish
print('drained', flush=True)
sys.exit(0)
