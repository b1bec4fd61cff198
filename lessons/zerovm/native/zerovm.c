/*
 * zerovm — Opslab's teaching runtime that re-creates ZeroVM's execution model on Linux.
 *
 *   zerovm [-v] [--validate] [--journal FILE] <manifest>
 *
 * ZeroVM (2013–2015) ran NaCl-validated programs whose only way out were six trap calls on
 * channels declared in a manifest. This runtime keeps that contract with Linux tools:
 *   1. it parses and validates the manifest with ZeroVM's rules (format 20130611);
 *   2. it opens every channel before the program starts; they are the program's only descriptors;
 *   3. it runs the program (a static binary) under a seccomp filter. A handful of calls that a
 *      static binary's start-up needs run directly (see `allowed` below); read/write/pread/pwrite
 *      are trapped to this runtime (seccomp user notification), checked against the channel's
 *      quotas and performed here — ZeroVM's TrapRead/TrapWrite; any other call kills the program
 *      and is reported by name, with its path where it has one;
 *   4. it enforces Timeout (seconds) and Memory (bytes of address space);
 *   5. it reports its start-up time and appends one JSON line per run to a journal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_VERSION "20130611"
#define MAX_MANIFEST (512 * 1024) /* ZeroVM: 512 KB per manifest */
#define MAX_FIELD (8 * 1024)      /* ZeroVM: 8 KB per key or value */
#define MAX_CHANNELS 64
#define DEFAULT_JOURNAL "/var/log/zerovm/journal.jsonl"

struct channel {
  char uri[PATH_MAX], alias[256], etag[64];
  int type; /* 0 SGetSPut, 1 RGetSPut, 2 SGetRPut, 3 RGetRPut */
  uint64_t gets, get_size, puts, put_size;           /* limits */
  uint64_t used_gets, used_get_size, used_puts, used_put_size;
  int host_fd, guest_fd, line;
};

struct manifest {
  char path[PATH_MAX], version[64], program[PATH_MAX], node[256], job[PATH_MAX], name_server[256];
  long timeout;
  uint64_t memory;
  struct channel channels[MAX_CHANNELS];
  int count;
};

static struct manifest m;
static int verbose;
static double started_ms;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("zerovm: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(code);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
  return s;
}

/* An unsigned integer (decimal or 0x hex, as ZeroVM's samples write Memory); 0 when it is not one. */
static int parse_u64(const char *text, uint64_t *out) {
  if (*text == '\0' || *text == '-') return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 0);
  if (errno != 0 || *end != '\0') return 0;
  *out = v;
  return 1;
}

/* Splits a comma-separated value into trimmed fields; returns how many there were. */
static int split(char *value, char **fields, int max) {
  int n = 0;
  for (char *p = value;; ) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    if (n < max) fields[n] = trim(p);
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  return n;
}


static int copy_field(char *to, size_t size, const char *from) {
  size_t n = strlen(from);
  if (n >= size) return -1;
  memcpy(to, from, n + 1);
  return 0;
}

#define BAD(line, key, ...) do { fprintf(stderr, "zerovm: %s:%d: %s: ", m.path, line, key); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(2); } while (0)
#define COPY(field, text, line, key) do { if (copy_field(field, sizeof field, text) != 0) BAD(line, key, "\"%.40s...\" is longer than %zu bytes", text, sizeof field - 1); } while (0)

static void parse_channel(char *value, int line) {
  char *f[8];
  int n = split(value, f, 8);
  if (n != 8) BAD(line, "Channel", "needs 8 comma-separated values (uri, alias, type, etag, gets, get_size, puts, put_size), found %d", n);
  if (m.count == MAX_CHANNELS) BAD(line, "Channel", "more than %d channels", MAX_CHANNELS);
  struct channel *c = &m.channels[m.count];
  memset(c, 0, sizeof *c);
  c->line = line;
  if (*f[0] == '\0') BAD(line, "Channel", "the uri (1st value) is empty");
  COPY(c->uri, f[0], line, "Channel");
  if (strncmp(f[1], "/dev/", 5) != 0 || strlen(f[1]) < 6) BAD(line, "Channel", "the alias (2nd value) must be a device name like /dev/stdin, got \"%s\"", f[1]);
  COPY(c->alias, f[1], line, "Channel");
  uint64_t type;
  if (!parse_u64(f[2], &type) || type > 3) BAD(line, "Channel", "type (3rd value) must be 0 (sequential get, sequential put), 1 (random get), 2 (random put) or 3 (random get and put), got \"%s\"", f[2]);
  c->type = (int)type;
  COPY(c->etag, f[3], line, "Channel");
  const char *names[] = {"gets", "get_size", "puts", "put_size"};
  uint64_t *limits[] = {&c->gets, &c->get_size, &c->puts, &c->put_size};
  for (int i = 0; i < 4; i++)
    if (!parse_u64(f[4 + i], limits[i])) BAD(line, "Channel", "%s (value %d) must be a non-negative integer, got \"%s\"", names[i], 5 + i, f[4 + i]);
  for (int i = 0; i < m.count; i++)
    if (strcmp(m.channels[i].alias, c->alias) == 0) BAD(line, "Channel", "alias %s is already used on line %d", c->alias, m.channels[i].line);
  m.count++;
}

static void parse_manifest(const char *path) {
  snprintf(m.path, sizeof m.path, "%s", path);
  FILE *f = fopen(path, "r");
  if (f == NULL) die(2, "cannot read the manifest %s: %s", path, strerror(errno));
  static char text[MAX_MANIFEST + 2];
  size_t size = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  if (size > MAX_MANIFEST) die(2, "%s: the manifest is larger than %d bytes", path, MAX_MANIFEST);
  text[size] = '\0';
  int line = 0, seen_version = 0, seen_program = 0, seen_timeout = 0, seen_memory = 0;
  char unknown[512] = "";
  char *rest = text;
  for (char *l; (l = strsep(&rest, "\n")) != NULL; ) {
    line++;
    char *s = trim(l);
    if (*s == '\0' || *s == '#') continue;
    char *eq = strchr(s, '=');
    if (eq == NULL) BAD(line, s, "a line must be \"key = value\"");
    if (strchr(eq + 1, '=') != NULL) BAD(line, trim((*eq = '\0', s)), "exactly one '=' per line");
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (strlen(key) > MAX_FIELD || strlen(value) > MAX_FIELD) BAD(line, key, "keys and values are limited to %d bytes", MAX_FIELD);
    if (*value == '\0') BAD(line, key, "the value is empty");
    if (strcmp(key, "Version") == 0) {
      if (strcmp(value, MANIFEST_VERSION) != 0) BAD(line, key, "this runtime reads manifest version %s, got \"%s\"", MANIFEST_VERSION, value);
      COPY(m.version, value, line, key);
      seen_version = line;
    } else if (strcmp(key, "Program") == 0) {
      COPY(m.program, value, line, key);
      seen_program = line;
    } else if (strcmp(key, "Timeout") == 0) {
      uint64_t t;
      if (!parse_u64(value, &t) || t < 1 || t > 2147483647) BAD(line, key, "must be whole seconds, 1..2147483647, got \"%s\"", value);
      m.timeout = (long)t;
      seen_timeout = line;
    } else if (strcmp(key, "Memory") == 0) {
      char *f[2];
      int n = split(value, f, 2);
      if (n != 2) BAD(line, key, "needs 2 values: bytes, etag (0 or 1), found %d", n);
      if (!parse_u64(f[0], &m.memory) || m.memory < 1024 * 1024) BAD(line, key, "bytes must be an integer of at least 1048576 (1 MiB), got \"%s\"", f[0]);
      if (strcmp(f[1], "0") != 0 && strcmp(f[1], "1") != 0) BAD(line, key, "etag must be 0 or 1, got \"%s\"", f[1]);
      seen_memory = line;
    } else if (strcmp(key, "Channel") == 0) {
      parse_channel(value, line);
    } else if (strcmp(key, "Node") == 0) {
      COPY(m.node, value, line, key);
    } else if (strcmp(key, "Job") == 0) {
      COPY(m.job, value, line, key);
    } else if (strcmp(key, "NameServer") == 0) {
      COPY(m.name_server, value, line, key);
    } else {
      /* ZeroVM ignores unknown keys; saying so is what saves a learner from a silent typo. */
      fprintf(stderr, "zerovm: %s:%d: warning: unknown key \"%s\" ignored (keys are case-sensitive)\n", path, line, key);
      if (strlen(unknown) + strlen(key) + 3 < sizeof unknown) strcat(strcat(unknown, *unknown ? ", " : ""), key);
    }
  }
  const char *missing = !seen_version ? "Version" : !seen_program ? "Program" : !seen_timeout ? "Timeout" : !seen_memory ? "Memory" : m.count == 0 ? "Channel" : NULL;
  if (missing) die(2, "%s: \"%s\" is required (Version, Program, Timeout, Memory and at least one Channel)%s%s", path, missing, *unknown ? "; unknown keys seen: " : "", unknown);
}

/* Descriptors in the program: stdin/stdout/stderr where declared, other channels from 3 in order. */
static void assign_guest_fds(void) {
  int next = 3;
  for (int i = 0; i < m.count; i++) {
    struct channel *c = &m.channels[i];
    c->guest_fd = strcmp(c->alias, "/dev/stdin") == 0 ? 0 : strcmp(c->alias, "/dev/stdout") == 0 ? 1 : strcmp(c->alias, "/dev/stderr") == 0 ? 2 : next++;
  }
}

static int readable(const struct channel *c) { return c->gets > 0 && c->get_size > 0; }
static int writable(const struct channel *c) { return c->puts > 0 && c->put_size > 0; }

static void open_channels(void) {
  for (int i = 0; i < m.count; i++) {
    struct channel *c = &m.channels[i];
    int flags = readable(c) && writable(c) ? O_RDWR | O_CREAT : writable(c) ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
    /* The runtime's own stdio stand for the device names a shell user expects. */
    if (strcmp(c->uri, "/dev/stdin") == 0) c->host_fd = dup(0);
    else if (strcmp(c->uri, "/dev/stdout") == 0) c->host_fd = dup(1);
    else if (strcmp(c->uri, "/dev/stderr") == 0) c->host_fd = dup(2);
    else c->host_fd = open(c->uri, flags | O_CLOEXEC, 0644);
    if (c->host_fd < 0) die(2, "%s:%d: Channel %s: cannot open %s: %s", m.path, c->line, c->alias, c->uri, strerror(errno));
  }
}

/* ---- the journal ---------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

struct outcome {
  const char *state; /* ok, exit, killed, quota, timeout, memory */
  int exit_code, signal;
  char call[64], detail[PATH_MAX + 64];
  double startup_ms, run_ms;
};

static void write_journal(const char *journal, const struct outcome *o) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", journal);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    mkdir(dir, 0755); /* one level, as /var/log/zerovm */
  }
  FILE *f = fopen(journal, "a");
  if (f == NULL) return (void)fprintf(stderr, "zerovm: cannot write the journal %s: %s\n", journal, strerror(errno));
  char manifest[PATH_MAX];
  if (realpath(m.path, manifest) == NULL) snprintf(manifest, sizeof manifest, "%s", m.path);
  fprintf(f, "{\"time\":%ld,\"manifest\":", (long)time(NULL));
  json_string(f, manifest);
  fputs(",\"program\":", f);
  json_string(f, m.program);
  fputs(",\"node\":", f);
  json_string(f, m.node);
  fprintf(f, ",\"state\":\"%s\",\"exit\":%d,\"signal\":%d,\"startup_ms\":%.3f,\"run_ms\":%.3f,\"call\":", o->state, o->exit_code, o->signal, o->startup_ms, o->run_ms);
  json_string(f, o->call);
  fputs(",\"detail\":", f);
  json_string(f, o->detail);
  fputs(",\"channels\":[", f);
  for (int i = 0; i < m.count; i++) {
    const struct channel *c = &m.channels[i];
    fprintf(f, "%s{\"alias\":", i ? "," : "");
    json_string(f, c->alias);
    fprintf(f, ",\"gets\":%" PRIu64 ",\"get_size\":%" PRIu64 ",\"puts\":%" PRIu64 ",\"put_size\":%" PRIu64
               ",\"limits\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]}",
            c->used_gets, c->used_get_size, c->used_puts, c->used_put_size, c->gets, c->get_size, c->puts, c->put_size);
  }
  fputs("]}\n", f);
  fclose(f);
}

/* ---- the sandbox ---------------------------------------------------------------------- */

/*
 * Calls the program may make directly. Each is what a static glibc binary needs to start and to
 * manage its own memory — nothing here reaches a file, a process or the network:
 *   exit, exit_group            TrapExit
 *   brk, mmap, munmap, mremap,  the program's own memory (bounded by Memory via RLIMIT_AS);
 *   mprotect, madvise           mmap cannot map a file: the only descriptors are channels
 *   arch_prctl                  thread pointer setup (TLS) at start
 *   set_tid_address,            glibc's thread bookkeeping at start
 *   set_robust_list, rseq
 *   getrandom                   malloc's and the stack protector's random seeds
 *   prlimit64 (read only)       glibc reads the stack limit at start; setting one is refused
 *   close                       giving up one of its own channels
 * Trapped and performed by the runtime: read, write, pread64, pwrite64 (TrapRead, TrapWrite).
 * Answered by the runtime without running them: readlink("/proc/self/exe") → ENOENT (glibc asks
 * at start; a ZeroVM program has no path) and sysinfo → ENOSYS (qsort sizes its buffer by the
 * machine's memory, which is none of a program's business; it falls back by itself). The first execve (the runtime starting the program)
 * is let through once. Everything else kills the program.
 */
static const int allowed[] = {
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
    SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(arch_prctl), SCMP_SYS(set_tid_address),
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(getrandom),
};

static int send_fd(int socket, int fd) {
  char data = 'f';
  struct iovec io = {.iov_base = &data, .iov_len = 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(socket, &msg, 0) == 1 ? 0 : -1;
}

static int receive_fd(int socket) {
  char data;
  struct iovec io = {.iov_base = &data, .iov_len = 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(socket, &msg, 0) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* In the child: channels onto their descriptors, nothing else open, limits, the filter, exec. */
static void start_program(int socket) {
  /* Park the hand-over socket and the channels high, then lay the channels onto their numbers. */
  int sock = fcntl(socket, F_DUPFD, 1000);
  for (int i = 0; i < m.count; i++) m.channels[i].host_fd = fcntl(m.channels[i].host_fd, F_DUPFD, 100 + i);
  if (sock < 0) _exit(125);
  close_range(0, 99, 0);
  int highest = 2;
  for (int i = 0; i < m.count; i++) {
    if (dup2(m.channels[i].host_fd, m.channels[i].guest_fd) < 0) _exit(125);
    if (m.channels[i].guest_fd > highest) highest = m.channels[i].guest_fd;
  }
  close_range(highest + 1, 999, 0);
  close_range(1001, ~0U, 0);
  socket = sock;

  struct rlimit memory = {m.memory, m.memory};
  if (setrlimit(RLIMIT_AS, &memory) != 0) _exit(125);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(125);

  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
  if (ctx == NULL) _exit(125);
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
  /* Only for the hand-over below: this socket is closed before the program starts. */
  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket));
  seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0);
  /* The listener descriptor must not land on 0-2 (libseccomp reads fd 0 as "none"): hold them. */
  int held[3], nheld = 0;
  for (int fd = 0; fd <= 2; fd++) if (fcntl(fd, F_GETFD) < 0 && dup2(socket, fd) == fd) held[nheld++] = fd;
  if (seccomp_load(ctx) != 0) _exit(125);
  int notify = seccomp_notify_fd(ctx);
  if (notify < 0 || send_fd(socket, notify) != 0) _exit(125);
  close(notify);
  for (int i = 0; i < nheld; i++) close(held[i]);
  close(socket);

  char channels[8192] = "";
  for (int i = 0; i < m.count; i++) {
    size_t used = strlen(channels);
    snprintf(channels + used, sizeof channels - used, "%s%s=%d:%d", i ? ";" : "", m.channels[i].alias, m.channels[i].guest_fd, m.channels[i].type);
  }
  char env_channels[8300], env_node[300];
  snprintf(env_channels, sizeof env_channels, "ZVM_CHANNELS=%s", channels);
  snprintf(env_node, sizeof env_node, "ZVM_NODE=%s", m.node);
  char *argv[] = {m.program, NULL};
  char *envp[] = {env_channels, env_node, NULL};
  execve(m.program, argv, envp);
  _exit(127);
}

static struct channel *channel_for(int guest_fd) {
  for (int i = 0; i < m.count; i++) if (m.channels[i].guest_fd == guest_fd) return &m.channels[i];
  return NULL;
}

/* Reads a NUL-terminated string from the program's memory (for the report). */
static void read_string(int mem, uint64_t address, char *out, size_t size) {
  ssize_t n = address ? pread(mem, out, size - 1, (off_t)address) : -1;
  if (n <= 0) { snprintf(out, size, "?"); return; }
  out[n] = '\0';
}

/* The path or address argument of a forbidden call, where it has one. */
static void describe_call(int nr, const uint64_t *args, int mem, char *detail, size_t size) {
  char text[PATH_MAX] = "";
  int path_arg = -1;
  if (nr == SCMP_SYS(open) || nr == SCMP_SYS(execve) || nr == SCMP_SYS(stat) || nr == SCMP_SYS(lstat) || nr == SCMP_SYS(unlink) ||
      nr == SCMP_SYS(mkdir) || nr == SCMP_SYS(chdir) || nr == SCMP_SYS(readlink) || nr == SCMP_SYS(access) || nr == SCMP_SYS(creat))
    path_arg = 0;
  else if (nr == SCMP_SYS(openat) || nr == SCMP_SYS(execveat) || nr == SCMP_SYS(newfstatat) || nr == SCMP_SYS(unlinkat) ||
           nr == SCMP_SYS(mkdirat) || nr == SCMP_SYS(readlinkat) || nr == SCMP_SYS(faccessat) || nr == SCMP_SYS(faccessat2) || nr == SCMP_SYS(openat2))
    path_arg = 1;
  if (path_arg >= 0) {
    read_string(mem, args[path_arg], text, sizeof text);
    snprintf(detail, size, "\"%s\"", text);
  } else if (nr == SCMP_SYS(socket)) {
    snprintf(detail, size, "%s, %s", args[0] == AF_INET ? "AF_INET" : args[0] == AF_INET6 ? "AF_INET6" : args[0] == AF_UNIX ? "AF_UNIX" : "family ?",
             (args[1] & 0xf) == SOCK_STREAM ? "SOCK_STREAM" : (args[1] & 0xf) == SOCK_DGRAM ? "SOCK_DGRAM" : "type ?");
  } else if (nr == SCMP_SYS(read) || nr == SCMP_SYS(write) || nr == SCMP_SYS(pread64) || nr == SCMP_SYS(pwrite64)) {
    snprintf(detail, size, "descriptor %d, which is no channel", (int)args[0]);
  } else {
    detail[0] = '\0';
  }
}

/*
 * TrapRead/TrapWrite: checks the channel's access and quotas, then does the I/O here with the
 * runtime's own descriptor and the program's memory. The program is single-threaded (clone is
 * not allowed), so its buffer cannot change while we copy. Returns the call's result or -errno.
 */
static int64_t trap(int nr, const uint64_t *args, int mem, struct outcome *o) {
  static char buffer[1 << 20]; /* one trap moves at most 1 MiB: a short count, as read and write may return */
  struct channel *c = channel_for((int)args[0]);
  int is_read = nr == SCMP_SYS(read) || nr == SCMP_SYS(pread64);
  int positioned = nr == SCMP_SYS(pread64) || nr == SCMP_SYS(pwrite64);
  uint64_t size = args[2];
  if (c == NULL) return -EBADF;
  if (is_read ? !readable(c) : !writable(c)) return -EBADF;
  int random = is_read ? (c->type == 1 || c->type == 3) : (c->type == 2 || c->type == 3);
  if (is_read) {
    if (c->used_gets >= c->gets || (c->used_get_size >= c->get_size && size > 0)) {
      snprintf(o->detail, sizeof o->detail, "%s: %s reached (%" PRIu64 ")", c->alias, c->used_gets >= c->gets ? "gets" : "get_size", c->used_gets >= c->gets ? c->gets : c->get_size);
      o->state = "quota";
      return -EDQUOT;
    }
    if (size > c->get_size - c->used_get_size) size = c->get_size - c->used_get_size;
    if (size > sizeof buffer) size = sizeof buffer;
    ssize_t n = positioned && random ? pread(c->host_fd, buffer, size, (off_t)args[3]) : read(c->host_fd, buffer, size);
    if (n < 0) return -errno;
    if (n > 0 && pwrite(mem, buffer, (size_t)n, (off_t)args[1]) != n) return -EFAULT;
    c->used_gets++;
    c->used_get_size += (uint64_t)n;
    return n;
  }
  if (c->used_puts >= c->puts || size > c->put_size - c->used_put_size) {
    snprintf(o->detail, sizeof o->detail, "%s: %s exceeded (limit %" PRIu64 ", used %" PRIu64 ", tried %" PRIu64 " more)",
             c->alias, c->used_puts >= c->puts ? "puts" : "put_size", c->used_puts >= c->puts ? c->puts : c->put_size,
             c->used_puts >= c->puts ? c->used_puts : c->used_put_size, c->used_puts >= c->puts ? 1 : size);
    o->state = "quota";
    return -EDQUOT;
  }
  if (size > sizeof buffer) size = sizeof buffer;
  ssize_t got = pread(mem, buffer, size, (off_t)args[1]);
  if (got < 0) return -EFAULT;
  ssize_t n = positioned && random ? pwrite(c->host_fd, buffer, (size_t)got, (off_t)args[3]) : write(c->host_fd, buffer, (size_t)got);
  if (n < 0) return -errno;
  c->used_puts++;
  c->used_put_size += (uint64_t)n;
  return n;
}

static void supervise(pid_t child, int notify, struct outcome *o) {
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  if (seccomp_notify_alloc(&req, &resp) != 0) die(3, "cannot allocate seccomp notifications");
  double deadline = now_ms() + m.timeout * 1000.0;
  int mem = -1, execs = 0;
  o->state = "ok";
  for (;;) {
    int left = (int)(deadline - now_ms());
    struct pollfd p = {.fd = notify, .events = POLLIN};
    int ready = left > 0 ? poll(&p, 1, left) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      kill(child, SIGKILL);
      o->state = "timeout";
      snprintf(o->detail, sizeof o->detail, "Timeout = %ld s exceeded", m.timeout);
      break;
    }
    if (p.revents & (POLLHUP | POLLERR)) break; /* the program is gone */
    memset(req, 0, sizeof *req);
    if (seccomp_notify_receive(notify, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    int nr = req->data.nr;
    const uint64_t *args = (const uint64_t *)req->data.args;
    if (nr == SCMP_SYS(execve) && execs++ == 0) {
      o->startup_ms = now_ms() - started_ms;
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      seccomp_notify_respond(notify, resp);
      continue;
    }
    if (mem < 0) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/mem", (int)req->pid);
      mem = open(path, O_RDWR | O_CLOEXEC);
    }
    if ((nr == SCMP_SYS(read) || nr == SCMP_SYS(write) || nr == SCMP_SYS(pread64) || nr == SCMP_SYS(pwrite64)) && channel_for((int)args[0])) {
      int64_t r = trap(nr, args, mem, o);
      if (verbose) fprintf(stderr, "zerovm: Trap%s(%s, %" PRIu64 " bytes) = %" PRId64 "\n", nr == SCMP_SYS(read) || nr == SCMP_SYS(pread64) ? "Read" : "Write", channel_for((int)args[0])->alias, args[2], r);
      if (r < 0) resp->error = (int)r;
      else resp->val = r;
      if (seccomp_notify_id_valid(notify, req->id) == 0) seccomp_notify_respond(notify, resp);
      continue;
    }
    if (nr == SCMP_SYS(sysinfo)) { /* qsort asks how much memory the machine has: none of its business */
      resp->error = -ENOSYS;
      seccomp_notify_respond(notify, resp);
      continue;
    }
    if (nr == SCMP_SYS(readlink)) {
      char target[64];
      read_string(mem, args[0], target, sizeof target);
      if (strcmp(target, "/proc/self/exe") == 0) { /* glibc's start-up probe: a program has no path */
        resp->error = -ENOENT;
        seccomp_notify_respond(notify, resp);
        continue;
      }
    }
    /* Anything else: the program is killed, and we say what it tried. */
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    snprintf(o->call, sizeof o->call, "%s", name ? name : "?");
    free(name);
    describe_call(nr, args, mem, o->detail, sizeof o->detail);
    kill(child, SIGKILL);
    o->state = "killed";
    resp->error = -EPERM;
    seccomp_notify_respond(notify, resp);
    break;
  }
  seccomp_notify_free(req, resp);
  if (mem >= 0) close(mem);
}

int main(int argc, char **argv) {
  started_ms = now_ms();
  const char *journal = getenv("ZEROVM_JOURNAL") ? getenv("ZEROVM_JOURNAL") : DEFAULT_JOURNAL;
  const char *manifest = NULL;
  int validate = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0) verbose = 1;
    else if (strcmp(argv[i], "--validate") == 0) validate = 1;
    else if (strcmp(argv[i], "--journal") == 0 && i + 1 < argc) journal = argv[++i];
    else if (argv[i][0] == '-') die(2, "unknown option %s\nusage: zerovm [-v] [--validate] [--journal FILE] <manifest>", argv[i]);
    else manifest = argv[i];
  }
  if (manifest == NULL) die(2, "usage: zerovm [-v] [--validate] [--journal FILE] <manifest>");
  parse_manifest(manifest);
  assign_guest_fds();
  if (access(m.program, X_OK) != 0) die(2, "%s: Program %s: %s", m.path, m.program, strerror(errno));
  if (validate) {
    printf("%s: valid (%d channels, Timeout %ld s, Memory %" PRIu64 " bytes)\n", m.path, m.count, m.timeout, m.memory);
    return 0;
  }
  open_channels();

  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) die(3, "socketpair: %s", strerror(errno));
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) die(3, "fork: %s", strerror(errno));
  if (child == 0) {
    close(sockets[0]);
    start_program(sockets[1]);
  }
  close(sockets[1]);
  struct outcome o;
  memset(&o, 0, sizeof o);
  int notify = receive_fd(sockets[0]);
  close(sockets[0]);
  if (notify >= 0) supervise(child, notify, &o);
  else o.state = "failed";
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  o.run_ms = now_ms() - started_ms - o.startup_ms;
  if (WIFEXITED(status)) {
    o.exit_code = WEXITSTATUS(status);
    if (strcmp(o.state, "ok") == 0 && o.exit_code != 0) o.state = o.exit_code == 127 || o.exit_code == 125 ? "failed" : "exit";
  } else if (WIFSIGNALED(status)) {
    o.signal = WTERMSIG(status);
    if (strcmp(o.state, "ok") == 0) {
      o.state = o.signal == SIGSEGV || o.signal == SIGBUS ? "memory" : "signal";
      if (o.signal == SIGSEGV) snprintf(o.detail, sizeof o.detail, "SIGSEGV: out of its Memory = %" PRIu64 " bytes, or a bad pointer", m.memory);
    }
  }
  write_journal(journal, &o);

  if (strcmp(o.state, "killed") == 0)
    fprintf(stderr, "zerovm: killed: the program called %s(%s) — outside ZeroVM's six trap calls; only its channels are reachable\n", o.call, o.detail);
  else if (strcmp(o.state, "quota") == 0) fprintf(stderr, "zerovm: quota: %s\n", o.detail);
  else if (strcmp(o.state, "timeout") == 0) fprintf(stderr, "zerovm: killed: %s\n", o.detail);
  else if (*o.detail) fprintf(stderr, "zerovm: %s\n", o.detail);
  fprintf(stderr, "zerovm: start-up %.2f ms, run %.2f ms, %s", o.startup_ms, o.run_ms, o.state);
  if (o.signal) fprintf(stderr, " (signal %d)\n", o.signal);
  else fprintf(stderr, " (exit %d)\n", o.exit_code);
  if (strcmp(o.state, "ok") == 0 || strcmp(o.state, "exit") == 0) return o.exit_code;
  return strcmp(o.state, "quota") == 0 && o.exit_code != 0 ? o.exit_code : 128 + (o.signal ? o.signal : SIGKILL);
}
