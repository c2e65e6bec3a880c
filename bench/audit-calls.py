# The program side of the audit's bench (bench/audit.ts): times, from inside the program, the
# system calls the audit traps, and stamps its exit. Prints one JSON line.
# Usage: python3 audit-calls.py <calls per loop> <sockets held at exit> <files held at exit> <dir>
import json
import os
import socket
import sys
import time

n, held_sockets, held_files, tmp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# Its own listener: connect() completes in the kernel against its backlog, and each accepted
# connection is taken at once, so that no other process's accept loop is measured.
listener = socket.create_server(("127.0.0.1", 0), backlog=128)
port = listener.getsockname()[1]
started = time.monotonic_ns()
out = {"started": started}


def per_call(loop):
    t = time.perf_counter_ns()
    for _ in range(n):
        loop()
    return (time.perf_counter_ns() - t) / n / 1000  # microseconds per iteration


out["open_close_us"] = per_call(lambda: os.close(os.open("/dev/null", os.O_RDONLY)))
out["socket_close_us"] = per_call(lambda: socket.socket().close())


def connect_close():
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    s.close()
    listener.accept()[0].close()


out["connect_close_us"] = per_call(connect_close)
keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(held_sockets)]
served = [listener.accept()[0] for _ in range(held_sockets)]
files = [open(os.path.join(tmp, f"f{i}"), "w") for i in range(held_files)]
out["exiting"] = time.monotonic_ns()
print(json.dumps(out), flush=True)
os._exit(0)
