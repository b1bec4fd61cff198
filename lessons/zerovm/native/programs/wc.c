/* wc.nexe: counts lines, words and bytes of /dev/stdin and writes "lines words bytes" to /dev/stdout. */
#include <ctype.h>
#include <stdio.h>
#include "../zvm.h"

int main(void) {
  int in = zvm_channel("/dev/stdin", NULL), out = zvm_channel("/dev/stdout", NULL), err = zvm_channel("/dev/stderr", NULL);
  size_t length;
  char *text = zvm_slurp(in, &length);
  if (text == NULL) return zvm_say(err, "wc: cannot read /dev/stdin\n"), 1;
  unsigned long lines = 0, words = 0;
  int in_word = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '\n') lines++;
    if (isspace(ch)) in_word = 0;
    else if (!in_word) in_word = 1, words++;
  }
  char line[96];
  snprintf(line, sizeof line, "%lu %lu %lu\n", lines, words, (unsigned long)length);
  if (zvm_write_all(out, line, strlen(line)) != 0) return zvm_say(err, "wc: /dev/stdout refused the result\n"), 1;
  return 0;
}
