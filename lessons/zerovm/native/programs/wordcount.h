/* A small word → count table for map.nexe and reduce.nexe (open addressing, grows). */
#include <ctype.h>
#include <stdio.h>
#include "../zvm.h"

struct entry { char *word; unsigned long count; };
struct table { struct entry *slots; size_t size, used; };

static unsigned long hash(const char *s) { unsigned long h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h; }

static int table_add(struct table *t, char *word, unsigned long count);

static int table_grow(struct table *t) {
  struct table bigger = { calloc(t->size ? t->size * 2 : 1024, sizeof(struct entry)), t->size ? t->size * 2 : 1024, 0 };
  if (bigger.slots == NULL) return -1;
  for (size_t i = 0; i < t->size; i++) if (t->slots[i].word) table_add(&bigger, t->slots[i].word, t->slots[i].count);
  free(t->slots);
  *t = bigger;
  return 0;
}

static int table_add(struct table *t, char *word, unsigned long count) {
  if ((t->used + 1) * 2 > t->size && table_grow(t) != 0) return -1;
  size_t i = hash(word) & (t->size - 1);
  while (t->slots[i].word && strcmp(t->slots[i].word, word) != 0) i = (i + 1) & (t->size - 1);
  if (!t->slots[i].word) t->slots[i].word = word, t->used++;
  t->slots[i].count += count;
  return 0;
}

/* Most frequent first, then alphabetical: the same order in every run. */
static int by_count(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

/* Writes "word count" lines, sorted, to a channel; 0 or -1. */
static int table_write(struct table *t, int out) {
  size_t n = 0;
  for (size_t i = 0; i < t->size; i++) if (t->slots[i].word) t->slots[n++] = t->slots[i];
  qsort(t->slots, n, sizeof *t->slots, by_count);
  char line[512];
  for (size_t i = 0; i < n; i++) {
    int len = snprintf(line, sizeof line, "%s %lu\n", t->slots[i].word, t->slots[i].count);
    if (zvm_write_all(out, line, (size_t)len) != 0) return -1;
  }
  return 0;
}
