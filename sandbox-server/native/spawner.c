/*
 * spawner: the one process that starts every process of every sandbox, so the server never forks.
 *
 * Why (docs/decisions.md §23): a fork copies the page tables of the process that forks. The server
 * grows with every session, and node-pty and child_process fork on its main thread, so every start,
 * shell, check and solve stalled every attendee's keystrokes for as long as the fork took — on
 * machines with slow page faults, up to a second while a room arrived. The spawner is started once,
 * stays a few hundred KiB, and forks in its own process; the server only writes a request.
 *
 * It also replaces the exec chain each process used to start through (sandbox-exec, setpriv,
 * nsenter, unshare, timeout): the child it forks joins the sandbox's cgroups, drops to the
 * sandbox's uid, joins its namespaces, installs the seccomp filter (compiled once, at start) and
 * execs the program itself — one exec per process instead of five or six.
 *
 * Protocol, on stdin (requests) and stdout (events), both a socket pair from the server: frames of
 * a 4-byte little-endian length and that many bytes, the bytes being NUL-terminated strings.
 *
 *   request:  <id> run  key=value...        (keys below; arg= and env= repeat, in order)
 *             <id> view key=value...        the checker's view of a sandbox (below)
 *             <id> kill <signal>
 *   events:   <id> started <pid>            the program was exec'd (a view: it is in place)
 *             <id> out <bytes>              output as it comes (output=stream)
 *             <id> exit <code> <signal> <timed-out 0|1> <error> <bytes>
 *                                           it ended; <error> says why it never ran (else empty),
 *                                           <bytes> is its output (output=collect, capped at limit=)
 *
 *   run keys: arg=  env=  cwd=DIR  uid=UID (drop to it, no supplementary groups)
 *             cgroup=PROCS_FILE (join, before anything else)
 *             ns=PID (join that process's user, mount, uts, ipc, net, pid and cgroup namespaces)
 *             mnt=PID (the mount namespace from this process instead: the checker's view)
 *             private-mounts=1 (a copy of the mount namespace of its own: what a check mounts stays there)
 *             lock-ro=PATH (own mount namespace; PATH bound onto itself read-only by host root: bwrap's
 *                           user namespace then copies it with the read-only flag locked)
 *             seccomp=1  pty=/dev/pts/N (its controlling terminal)  info-fd=3 (fd 3 = the output pipe too)
 *             output=collect|stream|none  limit=BYTES  timeout=MS (then SIGTERM)  kill-after=MS (then SIGKILL)
 *   view keys: ns=PID uid=UID cgroup=... share=DIR...: as UID, joins that sandbox's user and mount
 *             namespaces, makes every mount private but the state directories (share=, made shared),
 *             copies the mount namespace (the copy's state directories become slaves: what is
 *             mounted under them later is seen here), and waits — outside the sandbox's pid
 *             namespace, where no attendee process can see, enter or signal it (decisions §20).
 *
 * Every child gets only stdin, stdout and stderr (and fd 3 where info-fd= says so): a descriptor
 * of the server's or of another sandbox's never reaches a sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *const denied[] = {
    /* the kernel itself */
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd", "vhangup",
    /* large, often-exploited kernel surfaces no lesson uses */
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "lookup_dcookie", "fanotify_init", "open_by_handle_at",
    "name_to_handle_at", "kcmp",
    /* other processes' memory: no debugging across processes in a workshop sandbox */
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
    /* the clock and hardware ports are the machine's, not the sandbox's */
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
    "nfsservctl", "uselib",
};

#define MAX_LIST 64
#define SPAWNER_NICE 10
#define MAX_ID 32

/* One request, parsed. Pointers point into the request's frame, which outlives the fork. */
struct request {
  const char *id, *op;
  const char *args[256], *env[128], *cgroups[8], *lock_ro[8], *share[8];
  int n_args, n_env, n_cgroups, n_lock_ro, n_share;
  const char *cwd, *pty, *output;
  long uid, ns, mnt;
  int private_mounts, seccomp, info_fd;
  long limit, timeout_ms, kill_after_ms;
};

struct job {
  int used;
  char id[MAX_ID];
  pid_t pid;     /* the process we forked, which execs the program */
  int status_fd; /* CLOEXEC pipe: "E<why>" if the exec failed; EOF once exec'd */
  int out_fd;    /* -1 without output */
  int stream, exited, timed_out;
  int code, signal;
  char error[512];
  size_t error_len;
  char *output;
  size_t output_len, limit;
  long long deadline, kill_at; /* CLOCK_MONOTONIC ms, 0 = none */
};

static struct job *jobs;
static int n_jobs;
static int epfd;
static struct sock_fprog filter;
static int own_pidns; /* where the spawner returns after forking into a sandbox's pid namespace */
/* Recorded once at start: a child that asked getppid() itself could already see its reaper there if
   the spawner died between the fork and the question. */
static pid_t spawner_pid;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what) {
  fprintf(stderr, "spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- events ---------------------------------------------------------------------------------- */

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) exit(0); /* the server is gone: so are we */
    p += n;
    len -= (size_t)n;
  }
}

/* Sends <fields..., NULL> as NUL-terminated strings, then `tail` bytes as they are. */
static void send_event(const char *tail, size_t tail_len, ...) {
  char head[1024];
  size_t len = 4;
  va_list ap;
  va_start(ap, tail_len);
  for (const char *field; (field = va_arg(ap, const char *)) != NULL;) {
    size_t n = strlen(field) + 1;
    if (len + n > sizeof head) n = sizeof head - len;
    memcpy(head + len, field, n);
    head[len + n - 1] = '\0';
    len += n;
  }
  va_end(ap);
  uint32_t frame = (uint32_t)(len - 4 + tail_len);
  memcpy(head, &frame, 4);
  write_all(1, head, len);
  if (tail_len > 0) write_all(1, tail, tail_len);
}

/* ---- the child ------------------------------------------------------------------------------- */

static void child_fail(int status_fd, const char *what) {
  char message[512];
  int n = snprintf(message, sizeof message, "E%s: %s\n", what, strerror(errno));
  if (n > 0) (void)!write(status_fd, message, (size_t)n < sizeof message ? (size_t)n : sizeof message - 1);
  _exit(127);
}

static int join_cgroup(const char *procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  /* "0" is the writer itself, whichever pid namespace it is in. */
  int ok = write(fd, "0\n", 2) == 2;
  return (close(fd) == 0 && ok) ? 0 : -1;
}

static int open_ns(long pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, name);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static int lock_read_only(const char *path) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

/* The terminal settings node-pty gave its shells, plus IUTF8 (the sandbox speaks UTF-8). */
static void set_termios(int fd) {
  struct termios t;
  memset(&t, 0, sizeof t);
  t.c_iflag = ICRNL | IXON | IXANY | IMAXBEL | BRKINT | IUTF8;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = CREAD | CS8 | HUPCL;
  t.c_lflag = ICANON | ISIG | IEXTEN | ECHO | ECHOE | ECHOK | ECHOKE | ECHOCTL;
  t.c_cc[VEOF] = 4;
  t.c_cc[VEOL] = (cc_t)-1;
  t.c_cc[VEOL2] = (cc_t)-1;
  t.c_cc[VERASE] = 0x7f;
  t.c_cc[VWERASE] = 23;
  t.c_cc[VKILL] = 21;
  t.c_cc[VREPRINT] = 18;
  t.c_cc[VINTR] = 3;
  t.c_cc[VQUIT] = 0x1c;
  t.c_cc[VSUSP] = 26;
  t.c_cc[VSTART] = 17;
  t.c_cc[VSTOP] = 19;
  t.c_cc[VLNEXT] = 22;
  t.c_cc[VDISCARD] = 15;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  cfsetispeed(&t, B38400);
  cfsetospeed(&t, B38400);
  tcsetattr(fd, TCSANOW, &t);
}

static const char *const ns_names[] = {"user", "mnt", "uts", "ipc", "net", "pid", "cgroup"};
static const int ns_types[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWCGROUP};

/* Runs in the forked child: never returns. `status_fd` is CLOEXEC; `out_fd` is -1 without output. */
static void child(const struct request *r, int status_fd, int out_fd) {
  /* The sandbox's processes at the usual priority: only the spawner's own work yields (main). */
  setpriority(PRIO_PROCESS, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  int view = strcmp(r->op, "view") == 0;
  /* The spawner's stdin and stdout are the server's socket: never the child's. */
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || (view && dup2(null, 2) < 0)) child_fail(status_fd, "/dev/null");

  /* As host root, in the host's mount namespace: the terminal, the namespaces, the cgroups. */
  int tty = -1;
  if (r->pty && (tty = open(r->pty, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) child_fail(status_fd, r->pty);
  int ns_fd[7];
  for (int i = 0; i < 7; i++) {
    ns_fd[i] = -1;
    if (r->ns <= 0) continue;
    if (view && i > 1) continue; /* the view joins the user and mount namespaces only */
    if (i == 5) continue;         /* the pid namespace: the spawner forked us into it (start) */
    long of = (i == 1 && r->mnt > 0) ? r->mnt : r->ns;
    if ((ns_fd[i] = open_ns(of, ns_names[i])) < 0) child_fail(status_fd, "opening the sandbox's namespaces");
  }
  for (int i = 0; i < r->n_cgroups; i++) {
    if (join_cgroup(r->cgroups[i]) != 0) child_fail(status_fd, r->cgroups[i]);
  }
  if (r->n_lock_ro > 0) {
    /* Our own mount namespace, receiving nothing back from us: the host's mounts stay as they are. */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) child_fail(status_fd, "a mount namespace for lock-ro");
    for (int i = 0; i < r->n_lock_ro; i++) {
      if (lock_read_only(r->lock_ro[i]) != 0) child_fail(status_fd, r->lock_ro[i]);
    }
  }
  if (r->uid >= 0) {
    if (setgroups(0, NULL) != 0 || setresgid((gid_t)r->uid, (gid_t)r->uid, (gid_t)r->uid) != 0 || setresuid((uid_t)r->uid, (uid_t)r->uid, (uid_t)r->uid) != 0) {
      child_fail(status_fd, "dropping to the sandbox's uid");
    }
    /* Changing uid made us undumpable, which hides /proc/<us>/ns from the checks that join a view
       (an exec resets it; the view does not exec). */
    if (view && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) child_fail(status_fd, "PR_SET_DUMPABLE");
  }
  /* As the sandbox's uid: it owns the sandbox's user namespace, so it has every capability in it and
     none outside. Its uid is root in there (nsenter's --preserve-credentials). */
  for (int i = 0; i < 7; i++) {
    if (ns_fd[i] >= 0 && setns(ns_fd[i], ns_types[i]) != 0) child_fail(status_fd, ns_names[i]);
  }
  if (view) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) child_fail(status_fd, "making the sandbox's mounts private");
    for (int i = 0; i < r->n_share; i++) {
      if (mount(NULL, r->share[i], NULL, MS_SHARED, NULL) != 0) child_fail(status_fd, r->share[i]);
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) child_fail(status_fd, "copying the mount namespace");
  }
  if (r->private_mounts && (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)) {
    child_fail(status_fd, "a mount namespace for the check");
  }
  if (chdir(r->cwd ? r->cwd : "/") != 0) child_fail(status_fd, r->cwd ? r->cwd : "/");
  /* Without no_new_privs a setuid binary could run with the filter's protection and more privileges. */
  if (r->seccomp && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) != 0)) {
    child_fail(status_fd, "installing the seccomp filter");
  }
  if (view) {
    /* The view is outside the sandbox's pid namespace, so the sandbox's end does not end it, and a
       fork does not inherit the spawner's parent-death signal: without its own, a server killed
       with SIGKILL would leave every view holding its sandbox's mounts until the node restarts. Set
       last: a change of credentials clears it. If the spawner died before, nobody waits for us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(status_fd, "PR_SET_PDEATHSIG");
    if (getppid() != spawner_pid) _exit(1);
    /* In place: closing the status pipe (and every other descriptor) tells the server so. */
    syscall(SYS_close_range, 3u, ~0u, 0);
    prctl(PR_SET_NAME, "checker-view", 0, 0, 0); /* what an operator's ps shows */
    for (;;) pause();
  }
  if (tty >= 0) {
    if (setsid() < 0 || ioctl(tty, TIOCSCTTY, 0) != 0) child_fail(status_fd, "taking the terminal");
    set_termios(tty);
    if (dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0) child_fail(status_fd, "dup2");
  } else {
    /* A process group of its own: a timeout ends the program and what it started (as timeout(1)). */
    if (setpgid(0, 0) != 0) child_fail(status_fd, "setpgid");
    int out = out_fd >= 0 ? out_fd : null;
    if (dup2(out, 1) < 0 || dup2(out, 2) < 0) child_fail(status_fd, "stdout");
    if (r->info_fd == 3 && dup2(out, 3) < 0) child_fail(status_fd, "info fd");
  }
  /* Everything else closes at the exec (the status pipe, when the exec succeeds). */
  if (syscall(SYS_close_range, r->info_fd == 3 ? 4u : 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) child_fail(status_fd, "close_range");
  extern char **environ;
  char *env[130];
  for (int i = 0; i < r->n_env; i++) env[i] = (char *)r->env[i];
  env[r->n_env] = NULL;
  environ = env; /* execvp looks the program up in the PATH given to it */
  execvp(r->args[0], (char *const *)r->args);
  child_fail(status_fd, r->args[0]);
}

/* ---- jobs ------------------------------------------------------------------------------------ */

static struct job *find_job(const char *id) {
  for (int i = 0; i < n_jobs; i++) {
    if (jobs[i].used && strcmp(jobs[i].id, id) == 0) return &jobs[i];
  }
  return NULL;
}

static struct job *new_job(void) {
  for (int i = 0; i < n_jobs; i++) {
    if (!jobs[i].used) return memset(&jobs[i], 0, sizeof jobs[i]);
  }
  int grown = n_jobs ? n_jobs * 2 : 64;
  struct job *more = realloc(jobs, sizeof *jobs * (size_t)grown);
  if (more == NULL) return NULL;
  memset(more + n_jobs, 0, sizeof *jobs * (size_t)(grown - n_jobs));
  jobs = more;
  n_jobs = grown;
  return new_job();
}

/* epoll data: the job's index times 2, plus 1 for its output pipe (0 for its status pipe). */
static void watch(int fd, struct job *job, int is_output) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)((job - jobs) * 2 + is_output) + 16};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
}

static void close_fd(int *fd) {
  if (*fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
    *fd = -1;
  }
}

/* Signals the program's process group (it leads one: setsid or setpgid), else the program. */
static void signal_main(pid_t pid, int sig) {
  if (kill(-pid, sig) != 0) kill(pid, sig);
}

static void signal_job(struct job *job, int sig) {
  if (!job->exited) signal_main(job->pid, sig);
}

/* Reads what the program wrote; returns 0 at EOF. */
static int read_output(struct job *job) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(job->out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1; /* EAGAIN: more later */
    if (n == 0) return 0;
    if (job->stream) {
      send_event(buf, (size_t)n, job->id, "out", NULL);
    } else if (job->output_len < job->limit) {
      size_t keep = (size_t)n < job->limit - job->output_len ? (size_t)n : job->limit - job->output_len;
      memcpy(job->output + job->output_len, buf, keep);
      job->output_len += keep;
    }
  }
}

static void finish(struct job *job) {
  if (job->out_fd >= 0) {
    read_output(job); /* what is in the pipe now; a background process may hold it open for ever */
    close_fd(&job->out_fd);
  }
  close_fd(&job->status_fd);
  char code[16], sig[16];
  snprintf(code, sizeof code, "%d", job->code);
  snprintf(sig, sizeof sig, "%d", job->signal);
  job->error[job->error_len] = '\0';
  send_event(job->output, job->output_len, job->id, "exit", code, sig, job->timed_out ? "1" : "0", job->error, NULL);
  free(job->output);
  job->used = 0;
}

static void program_exited(struct job *job, int status) {
  job->exited = 1;
  job->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  job->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  /* Its status pipe may still hold why it never ran: read it before saying it ended. */
  if (job->status_fd >= 0) return; /* finished at the pipe's EOF */
  finish(job);
}

static void status_readable(struct job *job) {
  /* The one message, "E<why>\n", is one write far below PIPE_BUF. */
  char buf[4096];
  ssize_t n;
  while ((n = read(job->status_fd, buf, sizeof buf - 1)) > 0) {
    buf[n] = '\0';
    size_t len = strcspn(buf, "\n"); /* a cut-off error has no newline */
    if (buf[0] == 'E' && len > 1) {
      size_t room = sizeof job->error - 1 - job->error_len;
      size_t keep = len - 1 < room ? len - 1 : room;
      memcpy(job->error + job->error_len, buf + 1, keep);
      job->error_len += keep;
    }
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  /* EOF, once: the program was exec'd (or its start failed and the error is in). */
  close_fd(&job->status_fd);
  if (job->error_len == 0) {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)job->pid);
    send_event(NULL, 0, job->id, "started", pid, NULL);
  }
  if (job->exited) finish(job);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < n_jobs; i++) {
      if (jobs[i].used && jobs[i].pid == pid) {
        program_exited(&jobs[i], status);
        break;
      }
    }
  }
}

/* ---- requests -------------------------------------------------------------------------------- */

static long number(const char *value) {
  char *end;
  long n = strtol(value, &end, 10);
  return *end == '\0' ? n : -1;
}

/* Parses a frame's strings into `r`; returns an error message, or NULL. */
static const char *parse(char *frame, size_t len, struct request *r) {
  memset(r, 0, sizeof *r);
  r->uid = r->ns = r->mnt = -1;
  r->limit = 65536;
  r->kill_after_ms = 2000;
  const char *fields[512];
  int n = 0;
  for (size_t at = 0; at < len && n < 512;) {
    fields[n++] = frame + at;
    at += strlen(frame + at) + 1;
  }
  if (n < 2) return "a request needs an id and an operation";
  r->id = fields[0];
  r->op = fields[1];
  if (strlen(r->id) >= MAX_ID) return "id too long";
  for (int i = 2; i < n; i++) {
    const char *f = fields[i], *v = strchr(f, '=');
    if (v == NULL) return "field without =";
    size_t k = (size_t)(v++ - f);
#define KEY(name) (k == strlen(name) && strncmp(f, name, k) == 0)
#define ADD(list, count, max) \
  do {                        \
    if (r->count >= (max)) return "too many " #list; \
    r->list[r->count++] = v;  \
  } while (0)
    if (KEY("arg")) ADD(args, n_args, 255);
    else if (KEY("env")) ADD(env, n_env, 127);
    else if (KEY("cgroup")) ADD(cgroups, n_cgroups, 8);
    else if (KEY("lock-ro")) ADD(lock_ro, n_lock_ro, 8);
    else if (KEY("share")) ADD(share, n_share, 8);
    else if (KEY("cwd")) r->cwd = v;
    else if (KEY("pty")) r->pty = v;
    else if (KEY("output")) r->output = v;
    else if (KEY("uid")) r->uid = number(v);
    else if (KEY("ns")) r->ns = number(v);
    else if (KEY("mnt")) r->mnt = number(v);
    else if (KEY("private-mounts")) r->private_mounts = strcmp(v, "1") == 0;
    else if (KEY("seccomp")) r->seccomp = strcmp(v, "1") == 0;
    else if (KEY("info-fd")) r->info_fd = (int)number(v);
    else if (KEY("limit")) r->limit = number(v);
    else if (KEY("timeout")) r->timeout_ms = number(v);
    else if (KEY("kill-after")) r->kill_after_ms = number(v);
    else return "unknown field";
  }
  if (strcmp(r->op, "run") == 0 && r->n_args == 0) return "run needs arg=";
  if (strcmp(r->op, "view") == 0 && (r->ns <= 0 || r->uid < 0)) return "view needs ns= and uid=";
  if (r->info_fd != 0 && r->info_fd != 3) return "info-fd can only be 3";
  if (r->limit < 0 || r->timeout_ms < 0 || r->kill_after_ms < 0) return "bad number";
  return NULL;
}

static void start(char *frame, size_t len) {
  /* "<id> kill <signal>": a job already running. */
  const char *op = frame + strlen(frame) + 1;
  if (op < frame + len && strcmp(op, "kill") == 0) {
    const char *sig = op + strlen(op) + 1;
    struct job *job = find_job(frame);
    if (job && sig < frame + len && number(sig) > 0) signal_job(job, (int)number(sig));
    return;
  }
  struct request r;
  const char *bad = parse(frame, len, &r);
  if (bad != NULL) {
    send_event(NULL, 0, r.id ? r.id : "?", "exit", "127", "0", "0", bad, NULL);
    return;
  }
  if (strcmp(r.op, "run") != 0 && strcmp(r.op, "view") != 0) {
    send_event(NULL, 0, r.id, "exit", "127", "0", "0", "unknown operation", NULL);
    return;
  }
  struct job *job = new_job();
  int status[2], out[2] = {-1, -1};
  int wants_output = strcmp(r.op, "run") == 0 && r.pty == NULL && !(r.output && strcmp(r.output, "none") == 0);
  if (job == NULL || pipe2(status, O_CLOEXEC | O_NONBLOCK) != 0 || (wants_output && pipe2(out, O_CLOEXEC) != 0)) {
    send_event(NULL, 0, r.id, "exit", "127", "0", "0", "out of resources", NULL);
    if (job) job->used = 0;
    return;
  }
  job->used = 1;
  snprintf(job->id, sizeof job->id, "%s", r.id);
  job->stream = r.output && strcmp(r.output, "stream") == 0;
  job->limit = (size_t)r.limit;
  job->output = wants_output && !job->stream ? malloc(job->limit ? job->limit : 1) : NULL;
  /* A process of a sandbox is forked into its pid namespace: joining one counts for children only,
     so the spawner joins it for the fork and returns to its own. No waiting process in between. */
  int pidns = -1, err = 0;
  const char *failed = NULL;
  if (r.ns > 0 && strcmp(r.op, "run") == 0 && ((pidns = open_ns(r.ns, "pid")) < 0 || setns(pidns, CLONE_NEWPID) != 0)) {
    failed = "joining the sandbox's pid namespace", err = errno;
  }
  pid_t pid = failed ? -1 : fork();
  if (pid == 0) child(&r, status[1], out[1]);
  if (pid < 0 && !failed) {
    err = errno;
    /* A pid namespace whose init has died takes no new process: the kernel says ENOMEM. */
    failed = pidns >= 0 && err == ENOMEM ? "the sandbox's pid 1 is gone" : "fork";
  }
  if (pidns >= 0) {
    if (setns(own_pidns, CLONE_NEWPID) != 0) die("returning to the spawner's pid namespace");
    close(pidns);
  }
  if (pid < 0) {
    char why[256];
    snprintf(why, sizeof why, "%s: %s", failed, strerror(err));
    close(status[0]), close(status[1]);
    if (out[0] >= 0) close(out[0]), close(out[1]);
    free(job->output);
    job->used = 0;
    send_event(NULL, 0, r.id, "exit", "127", "0", "0", why, NULL);
    return;
  }
  close(status[1]);
  job->status_fd = status[0];
  watch(job->status_fd, job, 0);
  job->out_fd = -1;
  if (out[0] >= 0) {
    close(out[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    job->out_fd = out[0];
    watch(job->out_fd, job, 1);
  }
  job->pid = pid;
  if (r.timeout_ms > 0) {
    job->deadline = now_ms() + r.timeout_ms;
    job->kill_at = job->deadline + r.kill_after_ms;
  }
}

static void timers(void) {
  long long now = now_ms();
  for (int i = 0; i < n_jobs; i++) {
    struct job *job = &jobs[i];
    if (!job->used || job->exited || job->deadline == 0) continue;
    if (!job->timed_out && now >= job->deadline) {
      job->timed_out = 1;
      signal_job(job, SIGTERM);
    }
    if (job->timed_out && now >= job->kill_at) {
      signal_job(job, SIGKILL);
      job->deadline = 0;
    }
  }
}

static int next_timeout(void) {
  long long now = now_ms(), soonest = -1;
  for (int i = 0; i < n_jobs; i++) {
    struct job *job = &jobs[i];
    if (!job->used || job->exited || job->deadline == 0) continue;
    long long at = job->timed_out ? job->kill_at : job->deadline;
    if (soonest < 0 || at < soonest) soonest = at;
  }
  if (soonest < 0) return -1;
  return soonest <= now ? 0 : (int)(soonest - now);
}

/* Compiles the seccomp filter once; each child installs the compiled program. */
static void compile_filter(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL) die("seccomp_init");
  int rc = 0;
  for (size_t i = 0; i < sizeof denied / sizeof denied[0] && rc == 0; i++) {
    int nr = seccomp_syscall_resolve_name(denied[i]);
    if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  /* Typing into a terminal (TIOCSTI) or poking the console (TIOCLINUX): never. */
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
  int mem = memfd_create("seccomp", MFD_CLOEXEC);
  if (rc == 0 && mem >= 0) rc = seccomp_export_bpf(ctx, mem);
  seccomp_release(ctx);
  if (rc != 0 || mem < 0) {
    fprintf(stderr, "spawner: compiling the seccomp filter failed: %s\n", strerror(rc ? -rc : errno));
    exit(1);
  }
  off_t size = lseek(mem, 0, SEEK_END);
  struct sock_filter *program = malloc((size_t)size);
  if (program == NULL || pread(mem, program, (size_t)size, 0) != size) die("reading the seccomp filter");
  close(mem);
  filter.len = (unsigned short)(size / (off_t)sizeof *program);
  filter.filter = program;
}

int main(int argc, char **argv) {
  /* The server's helper lives and dies with it. The server names itself (argv[1]): if it died
     before the parent-death signal was set, our parent is now a reaper, which need not be pid 1 (a
     container's init, a subreaper). */
  if (argc != 2) {
    fprintf(stderr, "usage: spawner <the server's pid>\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != (pid_t)atol(argv[1])) return 0;
  spawner_pid = getpid();
  /* Only stdin, stdout and stderr are ours: whatever else the server had open (a restarted spawner
     would inherit its terminals' masters) is not kept alive here. */
  if (syscall(SYS_close_range, 3u, ~0u, 0) != 0) die("close_range");
  compile_filter();
  /* Forking is work for arrivals: under contention it yields to the server and to the attendees
     already typing (whose processes are in the sandboxes' cgroups), not the other way round. */
  setpriority(PRIO_PROCESS, 0, SPAWNER_NICE);
  if ((own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0) die("/proc/self/ns/pid");
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || epfd < 0) die("signalfd/epoll");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) != 0) die("epoll_ctl");
  ev.data.u64 = 0;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) != 0) die("epoll_ctl stdin");
  fcntl(0, F_SETFL, O_NONBLOCK);
  /* Requests are small; each frame is kept until its child has forked (the child reads it). */
  static char in[1 << 20];
  size_t have = 0;
  for (;;) {
    struct epoll_event events[64];
    int n = epoll_wait(epfd, events, 64, next_timeout());
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == 0) {
        ssize_t got = read(0, in + have, sizeof in - have);
        if (got == 0) return 0; /* the server closed us: its sandboxes go with it (bwrap --die-with-parent) */
        if (got < 0) continue;
        have += (size_t)got;
        size_t at = 0;
        while (have - at >= 4) {
          uint32_t frame;
          memcpy(&frame, in + at, 4);
          if (frame > sizeof in - 4) {
            fprintf(stderr, "spawner: a request of %u bytes is too large\n", frame);
            return 1;
          }
          if (have - at - 4 < frame) break;
          in[at + 4 + frame - 1] = '\0'; /* the last string's NUL, whatever was sent */
          start(in + at + 4, frame);
          at += 4 + frame;
        }
        memmove(in, in + at, have - at);
        have -= at;
      } else if (tag == 1) {
        struct signalfd_siginfo info;
        while (read(sfd, &info, sizeof info) == sizeof info) {
        }
        reap();
      } else {
        uint64_t index = (tag - 16) / 2;
        struct job *job = &jobs[index];
        if (!job->used) continue;
        if ((tag - 16) % 2 == 0) {
          if (job->status_fd >= 0) status_readable(job);
        } else if (job->out_fd >= 0 && read_output(job) == 0) {
          close_fd(&job->out_fd);
        }
      }
    }
    timers();
  }
}
