/* reduce.nexe: adds up the "word count" lines arriving on every /dev/in/<name> channel and writes
 * the totals, most frequent first, to /dev/stdout. */
#include <stdio.h>
#include "wordcount.h"

int main(void) {
  int out = zvm_channel("/dev/stdout", NULL), err = zvm_channel("/dev/stderr", NULL);
  struct table t = {0};
  int inputs = 0;
  for (int in; (in = zvm_channel_prefix("/dev/in/", inputs)) >= 0; inputs++) {
    char *text = zvm_slurp(in, NULL);
    if (text == NULL) return zvm_say(err, "reduce: cannot read a /dev/in channel\n"), 1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      char *space = strrchr(line, ' ');
      if (space == NULL) continue;
      *space = '\0';
      if (table_add(&t, line, strtoul(space + 1, NULL, 10)) != 0) return zvm_say(err, "reduce: out of memory\n"), 1;
    }
  }
  if (inputs == 0) return zvm_say(err, "reduce: no /dev/in/<name> channel: connect mappers to this node\n"), 1;
  return table_write(&t, out) == 0 ? 0 : (zvm_say(err, "reduce: /dev/stdout refused the totals\n"), 1);
}
