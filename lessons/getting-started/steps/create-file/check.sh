#!/bin/bash
# The messages name the file as the learner knows it: ~ is text there, not a path to expand.
# shellcheck disable=SC2088
# Evidence: the file itself and its exact content.
f=/root/hello.txt
if [ ! -e "$f" ]; then echo "There is no ~/hello.txt yet."; exit 1; fi
if [ ! -f "$f" ]; then echo "~/hello.txt exists but is not a regular file."; exit 1; fi
content=$(cat "$f")
if [ "$content" != 'Hello, Opslab!' ]; then
  printf 'The file holds %q, expected exactly: Hello, Opslab!\n' "$(head -c 80 "$f")"
  exit 1
fi
echo "~/hello.txt says Hello, Opslab!"
