/* The exit path seen from outside (issue 28): how long after the child's exit does the
 * wrapper's own exit come, as a shell, `docker stop` or a CI runner waiting on it sees it.
 *   exitprobe [-e null|pipe] [-c COMM] -- wrapper argv...
 * starts the wrapper (stdout to a pipe the probe reads, stderr to /dev/null or to a pipe
 * the probe reads and throws away, as a log collector would), waits for "ready" on stdout,
 * finds the wrapper's child by its name (COMM, default "receiver"), then waits on a pidfd
 * of each (Linux >= 5.3): the kernel makes a pidfd readable when its process has exited,
 * so both ends are stamped by the same wake-up of the same waiter, with no runtime's event
 * loop between (the bench's Node loop added its own, unequal, delay to the old figure).
 * Prints "child <ns> wrapper <ns> status <n>" (CLOCK_MONOTONIC nanoseconds) on stdout;
 * exit status 0, or 1 with a line on stderr. bench/run.mjs compiles it with cc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int fail(const char *what) {
  fprintf(stderr, "exitprobe: %s: %s\n", what, strerror(errno));
  return 1;
}

/* The pid of a process named `comm` whose parent is `parent`, or 0. */
static pid_t child_named(pid_t parent, const char *comm) {
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  struct dirent *e;
  pid_t found = 0;
  while (!found && (e = readdir(proc))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren) continue;
    int ppid = 0;
    if (sscanf(close_paren + 2, "%*c %d", &ppid) != 1 || ppid != parent) continue;
    *close_paren = 0;
    if (strcmp(open_paren + 1, comm) == 0) found = atoi(e->d_name);
  }
  closedir(proc);
  return found;
}

int main(int argc, char **argv) {
  const char *err_mode = "null", *comm = "receiver";
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) err_mode = argv[++i];
    else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) comm = argv[++i];
  }
  if (i + 1 >= argc) {
    fprintf(stderr, "usage: exitprobe [-e null|pipe] [-c COMM] -- wrapper argv...\n");
    return 2;
  }
  char **wrapper_argv = argv + i + 1;
  int out[2], err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0) return fail("pipe");
  int piped = strcmp(err_mode, "pipe") == 0;
  if (piped && pipe2(err, O_CLOEXEC) < 0) return fail("pipe");
  pid_t wrapper = fork();
  if (wrapper < 0) return fail("fork");
  if (wrapper == 0) {
    dup2(out[1], 1);
    if (piped) dup2(err[1], 2);
    else {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
    }
    execvp(wrapper_argv[0], wrapper_argv);
    _exit(127);
  }
  close(out[1]);
  if (piped) close(err[1]);
  int wrapper_fd = syscall(SYS_pidfd_open, wrapper, 0);
  if (wrapper_fd < 0) return fail("pidfd_open (wrapper)");

  /* Until "ready": the child has exec'd and set itself up. */
  char text[4096];
  size_t have = 0;
  while (!memmem(text, have, "ready\n", 6)) {
    ssize_t n = read(out[0], text + have, sizeof text - 1 - have);
    if (n <= 0) {
      fprintf(stderr, "exitprobe: the wrapper's stdout ended before \"ready\"\n");
      return 1;
    }
    have += n;
  }
  pid_t child = child_named(wrapper, comm);
  if (!child) {
    fprintf(stderr, "exitprobe: no child named %s under pid %d\n", comm, wrapper);
    return 1;
  }
  int child_fd = syscall(SYS_pidfd_open, child, 0);
  if (child_fd < 0) return fail("pidfd_open (child)");

  long long child_at = 0, wrapper_at = 0;
  struct pollfd fds[4] = {
      {.fd = child_fd, .events = POLLIN},
      {.fd = wrapper_fd, .events = POLLIN},
      {.fd = out[0], .events = POLLIN},
      {.fd = piped ? err[0] : -1, .events = POLLIN},
  };
  while (!wrapper_at) {
    if (poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return fail("poll");
    }
    long long at = now_ns();
    if (fds[0].revents) child_at = at, fds[0].fd = -1;
    if (fds[1].revents) wrapper_at = at, fds[1].fd = -1;
    for (int k = 2; k < 4; k++) {
      if (!fds[k].revents) continue;
      char sink[4096];
      if (read(fds[k].fd, sink, sizeof sink) <= 0) fds[k].fd = -1;
    }
  }
  int status = 0;
  waitpid(wrapper, &status, 0);
  if (!child_at) {
    fprintf(stderr, "exitprobe: the wrapper exited before its child\n");
    return 1;
  }
  printf("child %lld wrapper %lld status %d\n", child_at, wrapper_at, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
