/* sort.nexe: sorts the lines of /dev/stdin (byte order) onto /dev/stdout. */
#include "../zvm.h"

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
  int in = zvm_channel("/dev/stdin", NULL), out = zvm_channel("/dev/stdout", NULL), err = zvm_channel("/dev/stderr", NULL);
  size_t length;
  char *text = zvm_slurp(in, &length);
  if (text == NULL) return zvm_say(err, "sort: cannot read /dev/stdin\n"), 1;
  size_t count = 0, cap = 1024;
  char **lines = malloc(cap * sizeof *lines);
  for (char *p = text; lines && *p; ) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    if (count == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
    if (lines) lines[count++] = p;
    if (!nl) break;
    p = nl + 1;
  }
  if (lines == NULL) return zvm_say(err, "sort: out of memory\n"), 1;
  qsort(lines, count, sizeof *lines, by_bytes);
  for (size_t i = 0; i < count; i++) {
    if (zvm_write_all(out, lines[i], strlen(lines[i])) != 0 || zvm_write_all(out, "\n", 1) != 0)
      return zvm_say(err, "sort: /dev/stdout refused more output (its put quota?)\n"), 1;
  }
  return 0;
}
