/* grep.nexe: the lines of /dev/stdin that contain the text read from /dev/pattern, onto /dev/stdout. */
#include "../zvm.h"

int main(void) {
  int in = zvm_channel("/dev/stdin", NULL), out = zvm_channel("/dev/stdout", NULL), err = zvm_channel("/dev/stderr", NULL);
  int pattern_channel = zvm_channel("/dev/pattern", NULL);
  if (pattern_channel < 0) return zvm_say(err, "grep: declare a /dev/pattern channel with the text to look for\n"), 2;
  char *pattern = zvm_slurp(pattern_channel, NULL);
  char *text = zvm_slurp(in, NULL);
  if (pattern == NULL || text == NULL) return zvm_say(err, "grep: cannot read its channels\n"), 2;
  pattern[strcspn(pattern, "\n")] = '\0';
  int found = 0;
  for (char *p = text; *p; ) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    if (strstr(p, pattern)) {
      found = 1;
      if (zvm_write_all(out, p, strlen(p)) != 0 || zvm_write_all(out, "\n", 1) != 0) return zvm_say(err, "grep: /dev/stdout refused output\n"), 2;
    }
    if (!nl) break;
    p = nl + 1;
  }
  return found ? 0 : 1;
}
