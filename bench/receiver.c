/* The child the latency figures are measured with, written in C so that none of the time
 * measured is a runtime's own (a Node child adds ~0.2 ms on both sides). bench/run.mjs
 * compiles it with cc when there is one; bench/receiver.py is the same program for
 * machines without. Times are CLOCK_MONOTONIC nanoseconds, the clock of
 * process.hrtime.bigint() in the bench.
 *   receiver term            prints "ready"; its SIGTERM (or SIGINT) handler stamps the
 *                            time; then it prints "term <ns>" and exits 0
 *   receiver exit <ms>       prints "ready", sleeps <ms>, prints "exiting <ns>", exits 0
 *   receiver ignore <fifo>   ignores SIGTERM and SIGINT and holds <fifo> open for writing
 *                            until it dies: the reader sees the end of the file then
 *   receiver idle            prints "ready" and waits for SIGTERM (for memory, wakeups)
 * With NOTIFY_SOCKET set, it also sends READY=1 there (sd_notify) when ready. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got = 0;
static struct timespec stamped;

static void on_stop(int signo) {
  clock_gettime(CLOCK_MONOTONIC, &stamped);
  got = signo;
}

static long long ns(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

static void notify_ready(void) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&addr, sizeof addr);
  close(fd);
}

static void ready(void) {
  notify_ready();
  printf("ready\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "term";
  if (strcmp(mode, "exit") == 0) {
    long ms = argc > 2 ? atol(argv[2]) : 0;
    ready();
    struct timespec wait = {ms / 1000, (ms % 1000) * 1000000L}, now;
    nanosleep(&wait, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("exiting %lld\n", ns(&now));
    fflush(stdout);
    _exit(0);
  }
  if (strcmp(mode, "ignore") == 0) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    if (argc > 2 && open(argv[2], O_WRONLY | O_CLOEXEC) < 0) return 1;
    ready();
    for (;;) pause();
  }
  struct sigaction sa = {.sa_handler = on_stop};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* Blocked except inside sigsuspend, which unblocks them atomically: a signal arriving
   * between the test of `got` and the wait cannot be missed. */
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, &old);
  ready();
  while (!got) sigsuspend(&old);
  printf("term %lld\n", ns(&stamped));
  fflush(stdout);
  return 0;
}
