# The checks' view of the attendee's web server on port 8000, read from the kernel (/proc and the
# socket table) before any request is sent. A check must leave the terminal as it found it, and an
# HTTP request can write into it twice over: a server that logs to the terminal prints a line over
# the prompt for it, and a stopped server keeps it in its queue and answers it after `bg`, to a
# client long gone: a BrokenPipe traceback. So a request goes only to a server that runs and logs
# elsewhere.
PORT=8000
fail() { echo "$*"; exit 1; }

# The pids holding a listening socket on port 8000 (ss -p finds them through /proc/<pid>/fd).
listener_pids() { ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un; }
listening() { ss -Hltn "sport = :$PORT" | grep -q .; }

# /proc/<pid>/stat from the state on, as words: the command name before it may hold spaces and
# parentheses. $1 state, $3 pgrp, $5 tty_nr, $6 tpgid (fields 3, 5, 7 and 8 of proc(5)).
stat_after_comm() { local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) && echo "${stat##*) }"; }

# True if the process's stderr (where python3 -m http.server logs every request) is a terminal:
# a character device of the tty (4), /dev/tty (5) or pty (136-143) majors.
logs_to_terminal() {
  local major
  major=$(stat -L -c '%t' "/proc/$1/fd/2" 2>/dev/null) || return 1
  [ -c "/proc/$1/fd/2" ] || return 1
  major=$((16#$major))
  [ "$major" = 4 ] || [ "$major" = 5 ] || { [ "$major" -ge 136 ] && [ "$major" -le 143 ]; }
}

STOPPED_ADVICE="The server is stopped (Ctrl+Z suspended it; jobs says Stopped) and answers nothing: run bg to let it run on in the background."
LOG_ADVICE="The server writes its log to your terminal, so every request would print a line over your prompt. Stop it (Ctrl+C if it runs in the foreground, kill %1 if not) and start it again with its log in a file: cd ~ && python3 -m http.server 8000 2>~/http.log &"

# Fails with advice unless the server on port 8000 may be sent a request: it runs (is not stopped)
# and does not log to a terminal. With `background`, it must also not hold the terminal: a job in
# the foreground has the process group the terminal gives its input to (pgrp = tpgid). A server
# with no terminal at all (tty_nr 0, as solve.sh's) is in nobody's foreground.
require_server() {
  local want=${1:-} pid state ppid pgrp session tty_nr tpgid rest
  for pid in $(listener_pids); do
    read -r state ppid pgrp session tty_nr tpgid rest < <(stat_after_comm "$pid") || continue
    if logs_to_terminal "$pid"; then fail "$LOG_ADVICE"; fi
    [ "$state" = T ] && fail "$STOPPED_ADVICE"
    if [ "$want" = background ] && [ "$tty_nr" != 0 ] && [ "$tpgid" = "$pgrp" ]; then
      fail "The server runs in the foreground: your prompt waits for it to end. Press Ctrl+Z to suspend it, then run bg to let it run on in the background."
    fi
  done
}
