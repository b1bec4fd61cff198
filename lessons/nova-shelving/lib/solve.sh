# Shared by the steps' solve.sh: the attendee's credentials and a wait on test1's status, with the real CLIs.
. /run/opslab/cloud/openrc
status() { openstack server show test1 -f value -c status; }
# Waits until test1 has STATUS and no task state (up to 90 s).
await_status() {
  local i
  for i in $(seq 60); do
    # -f value prints the columns in its own order: the task state first.
    [ "$(openstack server show test1 -f value -c OS-EXT-STS:task_state -c status | tr '\n' ' ')" = "None $1 " ] && return 0
    sleep 1
  done
  echo "test1 did not reach $1: $(status)" >&2
  return 1
}
