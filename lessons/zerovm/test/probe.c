/* probe: makes the one system call named on its /dev/stdin, for the runtime's policy tests.
 * Exit 0 means the call returned (allowed, or answered by the runtime). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  char name[64] = "";
  ssize_t n = read(0, name, sizeof name - 1);
  if (n <= 0) return 2;
  name[strcspn(name, "\n")] = '\0';
  char path[] = "/etc/passwd";
  if (!strcmp(name, "openat")) syscall(SYS_openat, AT_FDCWD, path, 0);
  else if (!strcmp(name, "socket")) syscall(SYS_socket, 2, 1, 0);
  else if (!strcmp(name, "execve")) syscall(SYS_execve, "/bin/true", NULL, NULL);
  else if (!strcmp(name, "clone")) syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  else if (!strcmp(name, "kill")) syscall(SYS_kill, 1, 0);
  else if (!strcmp(name, "ptrace")) syscall(SYS_ptrace, 0, 0, 0, 0);
  else if (!strcmp(name, "mount")) syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0);
  else if (!strcmp(name, "unshare")) syscall(SYS_unshare, 0);
  else if (!strcmp(name, "chdir")) syscall(SYS_chdir, "/");
  else if (!strcmp(name, "getpid")) syscall(SYS_getpid);
  else if (!strcmp(name, "uname")) syscall(SYS_uname, name);
  else if (!strcmp(name, "mkdir")) syscall(SYS_mkdir, "/tmp/x", 0700);
  else if (!strcmp(name, "unlink")) syscall(SYS_unlink, "/tmp/x");
  else if (!strcmp(name, "ioctl")) syscall(SYS_ioctl, 1, 0x5401, 0);
  else if (!strcmp(name, "setuid")) syscall(SYS_setuid, 0);
  else if (!strcmp(name, "dup")) syscall(SYS_dup, 1);
  else if (!strcmp(name, "nanosleep")) { struct timespec t = {0, 1000}; syscall(SYS_nanosleep, &t, NULL); }
  else if (!strcmp(name, "prlimit64-set")) { struct rlimit r = {1, 1}; syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &r, NULL); }
  else if (!strcmp(name, "read-other-fd")) { char b[4]; syscall(SYS_read, 5, b, 4); }
  /* allowed, or answered by the runtime */
  else if (!strcmp(name, "brk")) { if (syscall(SYS_brk, 0) <= 0) return 1; }
  else if (!strcmp(name, "mmap")) { void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); if (p == MAP_FAILED) return 1; p = mremap(p, 1 << 20, 2 << 20, MREMAP_MAYMOVE); if (p == MAP_FAILED) return 1; if (mprotect(p, 4096, PROT_READ) || madvise(p, 4096, MADV_DONTNEED) || munmap(p, 2 << 20)) return 1; }
  else if (!strcmp(name, "getrandom")) { char b[8]; if (syscall(SYS_getrandom, b, 8, 0) != 8) return 1; }
  else if (!strcmp(name, "prlimit64-get")) { struct rlimit r; if (syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &r)) return 1; }
  else if (!strcmp(name, "set_tid_address")) { int tid; if (syscall(SYS_set_tid_address, &tid) <= 0) return 1; }
  else if (!strcmp(name, "arch_prctl")) { unsigned long fs; if (syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs)) return 1; }
  else if (!strcmp(name, "sysinfo")) { char b[128]; if (syscall(SYS_sysinfo, b) != -1) return 1; }
  else if (!strcmp(name, "readlink")) { char b[64]; if (syscall(SYS_readlink, "/proc/self/exe", b, 64) != -1) return 1; }
  else if (!strcmp(name, "close")) { if (syscall(SYS_close, 1)) return 1; }
  else if (!strcmp(name, "write")) { if (write(1, "ok\n", 3) != 3) return 1; }
  else if (!strcmp(name, "exit")) syscall(SYS_exit, 0);
  else return 2;
  return 0;
}
