#!/usr/bin/env python3
# bench/receiver.c for machines without a C compiler: the same modes and lines (see there).
# Python runs a signal handler between two bytecodes of the main thread, a little later than
# C does; the bench says which receiver it used.
import os, signal, socket, sys, time

mode = sys.argv[1] if len(sys.argv) > 1 else 'term'

def ready():
    path = os.environ.get('NOTIFY_SOCKET')
    if path:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b'READY=1', path)
        s.close()
    sys.stdout.write('ready\n')
    sys.stdout.flush()

if mode == 'exit':
    ready()
    time.sleep(int(sys.argv[2]) / 1000)
    sys.stdout.write('exiting %d\n' % time.monotonic_ns())
    sys.stdout.flush()
    os._exit(0)

if mode == 'ignore':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(sys.argv) > 2:
        held = os.open(sys.argv[2], os.O_WRONLY | os.O_CLOEXEC)
    ready()
    while True:
        signal.pause()

stamped = []
def on_stop(signo, frame):
    stamped.append(time.monotonic_ns())

signal.signal(signal.SIGTERM, on_stop)
signal.signal(signal.SIGINT, on_stop)
ready()
while not stamped:
    signal.pause()
sys.stdout.write('term %d\n' % stamped[0])
sys.stdout.flush()
