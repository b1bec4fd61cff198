/*
 * zvm.h — the guest side of Opslab's zerovm runtime, with ZeroVM's C API names (api/zvm.h).
 *
 * A guest finds its channels by alias (the runtime passes "alias=fd:type;..." in ZVM_CHANNELS)
 * and talks to them only with zvm_pread/zvm_pwrite. Those become read/write/pread64/pwrite64
 * system calls, which the runtime traps (seccomp user notification), checks against the
 * channel's quotas and performs itself: ZeroVM's TrapRead and TrapWrite. zvm_exit is TrapExit.
 * TrapJail, TrapUnjail (NaCl's code validation for JITs) and TrapFork (daemon mode) have no
 * equivalent on Linux here: they answer -1.
 */
#ifndef OPSLAB_ZVM_H
#define OPSLAB_ZVM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Channel types, as in ZeroVM's manifest: sequential or random get (read) and put (write). */
enum zvm_access { SGetSPut = 0, RGetSPut = 1, SGetRPut = 2, RGetRPut = 3 };

/*
 * Walks ZVM_CHANNELS ("alias=fd:type;..."): the index-th channel whose alias equals `alias`
 * (exact) or starts with it. Its descriptor, or -1; its type goes to *type when asked.
 */
static inline int zvm_lookup(const char *alias, int exact, int index, int *type) {
  const char *list = getenv("ZVM_CHANNELS");
  size_t n = strlen(alias);
  while (list && *list) {
    const char *eq = strchr(list, '=');
    if (eq == NULL) return -1;
    size_t length = (size_t)(eq - list);
    if ((exact ? length == n : length >= n) && strncmp(list, alias, n) == 0 && index-- == 0) {
      char *end;
      long fd = strtol(eq + 1, &end, 10);
      if (type) *type = (*end == ':') ? (int)strtol(end + 1, NULL, 10) : 0;
      return (int)fd;
    }
    list = strchr(eq, ';');
    if (list) list++;
  }
  return -1;
}

/* The handle (descriptor) of the channel with this alias, or -1. Its type goes to *type. */
static inline int zvm_channel(const char *alias, int *type) { return zvm_lookup(alias, 1, 0, type); }

/* The n-th channel whose alias starts with prefix (e.g. "/dev/in/"), or -1. */
static inline int zvm_channel_prefix(const char *prefix, int index) { return zvm_lookup(prefix, 0, index, NULL); }

/* TrapRead: offset is used by random-access channels and ignored by sequential ones. */
static inline int64_t zvm_pread(int handle, void *buffer, int64_t size, int64_t offset) {
  return offset >= 0 ? pread(handle, buffer, (size_t)size, offset) : read(handle, buffer, (size_t)size);
}

/* TrapWrite. */
static inline int64_t zvm_pwrite(int handle, const void *buffer, int64_t size, int64_t offset) {
  return offset >= 0 ? pwrite(handle, buffer, (size_t)size, offset) : write(handle, buffer, (size_t)size);
}

/* TrapExit. */
static inline void zvm_exit(int code) { _exit(code); }

static inline int zvm_jail(const void *buffer, int64_t size) { (void)buffer; (void)size; return -1; }
static inline int zvm_unjail(const void *buffer, int64_t size) { (void)buffer; (void)size; return -1; }
static inline int zvm_fork(void) { return -1; }

/* Helpers for the sample programs: whole-channel reads and writes on sequential channels. */

/* Reads a channel to its end into a malloc'ed, NUL-terminated buffer; NULL when a read fails. */
static inline char *zvm_slurp(int handle, size_t *length) {
  size_t cap = 65536, len = 0;
  char *data = malloc(cap + 1);
  for (;;) {
    if (data == NULL) return NULL;
    if (len == cap) data = realloc(data, (cap *= 2) + 1);
    if (data == NULL) return NULL;
    int64_t got = zvm_pread(handle, data + len, (int64_t)(cap - len), -1);
    if (got < 0) return free(data), NULL;
    if (got == 0) break;
    len += (size_t)got;
  }
  data[len] = '\0';
  if (length) *length = len;
  return data;
}

/* Writes all of buffer; 0 or -1 (a quota refused it, or the channel is not writable). */
static inline int zvm_write_all(int handle, const void *buffer, size_t size) {
  const char *p = buffer;
  while (size > 0) {
    int64_t put = zvm_pwrite(handle, p, (int64_t)size, -1);
    if (put <= 0) return -1;
    p += put;
    size -= (size_t)put;
  }
  return 0;
}

static inline void zvm_say(int handle, const char *text) { zvm_write_all(handle, text, strlen(text)); }

#endif
