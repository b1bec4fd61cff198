/*
 * sandbox-exec: puts itself into a sandbox's cgroups, installs Opslab's seccomp filter, then execs
 * its arguments (setpriv, which drops to the sandbox's uid, then bwrap or nsenter).
 *
 *   sandbox-exec [--cgroup <cgroup.procs file>]... [--keep-fd N] [--lock-ro PATH]... -- <program> [args...]
 *   sandbox-exec [--cgroup <cgroup.procs file>]... --check-view PID --uid UID [--share DIR]...
 *
 * It also closes every file descriptor above 2 (but the one --keep-fd names, e.g. bwrap's info
 * fd): a descriptor the server inherited without close-on-exec must never reach a sandbox.
 *
 * Every process of a sandbox starts through it (bwrap itself, and each nsenter for shells, checks
 * and solves), so limits and filter cover them all and are inherited by everything they start. The
 * --lock-ro (for bwrap itself): in a mount namespace of its own, PATH is bound onto itself read-only
 * (recursively) by host root. bwrap's user namespace copies these mounts with their read-only flag
 * locked, and its binds of them keep the lock: root in the sandbox cannot remount the platform's
 * /usr, /etc or lesson files writable (mount(2) answers EPERM), where a bind bwrap made read-only
 * by itself could be remounted writable by the sandbox's root.
 *
 * --check-view holds the checker's view of the sandbox whose pid 1 is PID (docs/decisions.md §20):
 * as UID, it joins that sandbox's user and mount namespaces, makes every mount private but the
 * state directories (--share, made shared), copies the mount namespace (the copy's state
 * directories become slaves: what is mounted under them later is seen here), says "ready" and
 * waits. It stays in the host's pid namespace, out of the sandbox's sight. (One process instead
 * of setpriv, nsenter, a shell, mount and unshare: a dozen execs on every sandbox start.)
 *
 * The lessons run real system software (mariadbd, dnsmasq, iptables, ip netns,
 * unshare), so the sandbox needs mount, unshare, setns, clone with namespaces and raw sockets
 * inside its own namespaces. What no lesson needs, and what widens the kernel's attack surface,
 * fails with EPERM. docs/security.md lists the calls and the reasons.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/syscall.h>
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

/* Joins a cgroup (v1 or v2) by writing our pid to its cgroup.procs: before the sandbox exists, so nothing escapes the limits. */
static int join_cgroup(const char *procs) {
  FILE *f = fopen(procs, "w");
  if (f == NULL) return -1;
  int ok = fprintf(f, "%d\n", (int)getpid()) > 0;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Binds `path` onto itself, then makes it and every mount below it read-only (mount_setattr, Linux 5.12). */
static int lock_read_only(const char *path) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

static int fail(const char *what) {
  fprintf(stderr, "sandbox-exec: %s: %s\n", what, strerror(errno));
  return 1;
}

/* Opens /proc/<pid>/ns/<name>. */
static int open_ns(long pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, name);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static int hold_check_view(long pid, long uid, char **shared, int n_shared) {
  int userns = open_ns(pid, "user"), mntns = open_ns(pid, "mnt");
  if (userns < 0 || mntns < 0) return fail("opening the sandbox's namespaces");
  /* The sandbox's uid owns its user namespace: as that uid we have every capability in it, and no
     other. (Host root would own a view the sandbox's checks could not enter.) */
  if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) return fail("dropping to the sandbox's uid");
  /* Changing uid made us undumpable, which hides /proc/<us>/ns from the checks (same uid) that
     join this view; an exec would have reset it, and we do not exec. */
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return fail("PR_SET_DUMPABLE");
  if (setns(userns, CLONE_NEWUSER) != 0 || setns(mntns, CLONE_NEWNS) != 0) return fail("joining the sandbox's namespaces");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return fail("making the sandbox's mounts private");
  for (int i = 0; i < n_shared; i++) {
    if (mount(NULL, shared[i], NULL, MS_SHARED, NULL) != 0) return fail(shared[i]);
  }
  if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) return fail("copying the mount namespace");
  if (puts("ready") < 0 || fflush(stdout) != 0) return fail("saying ready");
  for (;;) pause();
}

int main(int argc, char **argv) {
  int keep_fd = -1;
  int own_mounts = 0;
  long view_of = -1, view_uid = -1;
  char *shared[16];
  int n_shared = 0;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc) {
      if (join_cgroup(argv[++i]) != 0) {
        fprintf(stderr, "sandbox-exec: joining %s: %s\n", argv[i], strerror(errno));
        return 1;
      }
    } else if (strcmp(argv[i], "--lock-ro") == 0 && i + 1 < argc) {
      /* Our own mount namespace, receiving nothing back from us: the host's mounts stay as they are. */
      if (!own_mounts && (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)) {
        return perror("sandbox-exec: a mount namespace for --lock-ro"), 1;
      }
      own_mounts = 1;
      if (lock_read_only(argv[++i]) != 0) {
        fprintf(stderr, "sandbox-exec: locking %s read-only: %s\n", argv[i], strerror(errno));
        return 1;
      }
    } else if (strcmp(argv[i], "--keep-fd") == 0 && i + 1 < argc) {
      keep_fd = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--check-view") == 0 && i + 1 < argc) {
      view_of = atol(argv[++i]);
    } else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
      view_uid = atol(argv[++i]);
    } else if (strcmp(argv[i], "--share") == 0 && i + 1 < argc && n_shared < 16) {
      shared[n_shared++] = argv[++i];
    } else {
      fprintf(stderr, "sandbox-exec: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (view_of > 0 && view_uid <= 0) {
    fprintf(stderr, "sandbox-exec: --check-view needs --uid\n");
    return 2;
  }
  if (view_of <= 0 && i + 1 >= argc) {
    fprintf(stderr, "usage: sandbox-exec [--cgroup <cgroup.procs>]... [--keep-fd N] [--lock-ro PATH]... -- <program> [args...]\n"
                    "       sandbox-exec [--cgroup <cgroup.procs>]... --check-view PID --uid UID [--share DIR]...\n");
    return 2;
  }
  if (keep_fd > 2) {
    for (int fd = 3; fd < keep_fd; fd++) close(fd);
    if (close_range((unsigned)keep_fd + 1, ~0U, 0) != 0) return perror("sandbox-exec: close_range"), 1;
  } else if (close_range(3, ~0U, 0) != 0) {
    return perror("sandbox-exec: close_range"), 1;
  }
  /* Without no_new_privs a setuid binary could run with the filter's protection and more privileges. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("sandbox-exec: PR_SET_NO_NEW_PRIVS");
    return 1;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL) {
    fprintf(stderr, "sandbox-exec: seccomp_init failed\n");
    return 1;
  }
  int rc = 0;
  for (size_t i = 0; i < sizeof denied / sizeof denied[0] && rc == 0; i++) {
    int nr = seccomp_syscall_resolve_name(denied[i]);
    if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  /* Typing into a terminal (TIOCSTI) or poking the console (TIOCLINUX): never. */
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    fprintf(stderr, "sandbox-exec: installing the filter failed: %s\n", strerror(-rc));
    return 1;
  }
  if (view_of > 0) return hold_check_view(view_of, view_uid, shared, n_shared);
  char **command = argv + i + 1;
  execvp(command[0], command);
  fprintf(stderr, "sandbox-exec: %s: %s\n", command[0], strerror(errno));
  return 127;
}
