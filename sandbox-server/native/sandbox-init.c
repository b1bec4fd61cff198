/*
 * sandbox-init: a sandbox's pid 1 (bwrap --as-pid-1). It says "ready" on stdout once bwrap has put
 * every mount in place (bwrap execs it last), lets go of that pipe, then reaps whatever is
 * orphaned in the sandbox, for ever.
 *
 * Why a program of its own (docs/decisions.md §23): it replaces `sh -c 'echo ready; exec sleep
 * infinity'` below bwrap's own reaper — two dynamically linked execs and a fork per sandbox start,
 * which on a machine with slow page-table updates cost more than bwrap itself. Static, so its exec
 * maps no libraries. As pid 1 it ignores every signal sent from inside the sandbox (the kernel does
 * not deliver an unhandled one to a namespace's init), so an attendee cannot end the sandbox by
 * killing its placeholder; the server ends it from outside with SIGKILL.
 *
 * Its stdout is the pipe the server reads bwrap's start from. Kept open, any process of the
 * sandbox could write into it through /proc/1/fd/1 and keep the spawner and the server busy: after
 * "ready" every descriptor is /dev/null or closed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  if (write(1, "ready\n", 6) != 6) return 1;
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) return 1;
  syscall(SYS_close_range, 3u, ~0u, 0);
  for (;;) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    int sig;
    sigwait(&chld, &sig);
  }
}
