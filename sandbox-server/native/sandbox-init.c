/*
 * sandbox-init: a sandbox's pid 1 (bwrap --as-pid-1). It says "ready" on stdout once bwrap has put
 * every mount in place (bwrap execs it last), then reaps whatever is orphaned in the sandbox, for ever.
 *
 * Why a program of its own (docs/decisions.md §23): it replaces `sh -c 'echo ready; exec sleep
 * infinity'` below bwrap's own reaper — two dynamically linked execs and a fork per sandbox start,
 * which on a machine with slow page-table updates cost more than bwrap itself. Static, so its exec
 * maps no libraries. As pid 1 it ignores every signal sent from inside the sandbox (the kernel does
 * not deliver an unhandled one to a namespace's init), so an attendee cannot end the sandbox by
 * killing its placeholder; the server ends it from outside with SIGKILL.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  if (write(1, "ready\n", 6) != 6) return 1;
  for (;;) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    int sig;
    sigwait(&chld, &sig);
  }
}
