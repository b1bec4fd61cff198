/* map.nexe: counts the words of its /dev/stdin (lower-cased, letters only) and sends "word count"
 * lines to every connected node: the channels /dev/out/<name>. */
#include "wordcount.h"

int main(void) {
  int in = zvm_channel("/dev/stdin", NULL), err = zvm_channel("/dev/stderr", NULL);
  char *text = zvm_slurp(in, NULL);
  if (text == NULL) return zvm_say(err, "map: cannot read /dev/stdin\n"), 1;
  struct table t = {0};
  for (char *p = text; *p; ) {
    while (*p && !isalpha((unsigned char)*p)) p++;
    char *word = p;
    while (isalpha((unsigned char)*p)) *p = (char)tolower((unsigned char)*p), p++;
    if (p == word) break;
    if (*p) *p++ = '\0';
    if (table_add(&t, word, 1) != 0) return zvm_say(err, "map: out of memory\n"), 1;
  }
  int sent = 0;
  for (int i = 0, out; (out = zvm_channel_prefix("/dev/out/", i)) >= 0; i++, sent++)
    if (table_write(&t, out) != 0) return zvm_say(err, "map: a /dev/out channel refused the counts\n"), 1;
  if (sent == 0) return zvm_say(err, "map: no /dev/out/<name> channel: connect this node to a reducer\n"), 1;
  return 0;
}
