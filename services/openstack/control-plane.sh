#!/bin/bash
# The room's OpenStack control plane, from Debian 12's packages (Zed), run without systemd:
#   control-plane.sh bootstrap      first-time setup: configs, database, queue, db syncs, catalog
#   control-plane.sh start | stop   brings every service up (bootstrapping first if needed) or down
#   control-plane.sh status         which services run
#   control-plane.sh run SERVICE    runs one service in the foreground
#   control-plane.sh services       the services, in start order
# Everything lives in $OPSLAB_OPENSTACK_DIR (default /var/lib/opslab/openstack) and runs as the
# system user opslab-os; the APIs listen on 127.0.0.1 only, MariaDB and RabbitMQ on local sockets
# and ports no sandbox can reach.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${OPSLAB_OPENSTACK_DIR:-/var/lib/opslab/openstack}
USER_NAME=opslab-os
PY=/usr/bin/python3 # another python3 may come first on PATH; the OpenStack modules are Debian's
SOCK=$STATE/run/mysqld.sock
PASTE=/usr/local/share/opslab/openstack-paste # from nova-common, glance-common, neutron-common (scripts/setup.sh)
SERVICES="mariadb rabbitmq keystone placement glance neutron nova-api nova-conductor nova-scheduler nova-compute"

secret() { cat "$STATE/secrets/$1"; }
db_url() { local db=$1 user=${2:-$1}; echo "mysql+pymysql://$user:$(secret db-$user)@localhost/$db?unix_socket=$SOCK&charset=utf8"; }
as_user() { setpriv --reuid "$USER_NAME" --regid "$USER_NAME" --init-groups -- "$@"; }
exec_as_user() { exec setpriv --reuid "$USER_NAME" --regid "$USER_NAME" --init-groups -- "$@"; }
# Python code that runs MODULE's main() as program NAME (argv[0] names its log and paste files).
main_of() { echo "import sys; sys.argv[0] = '$2'; from $1 import main; sys.exit(main())"; }
py_main() { local module=$1; shift; as_user "$PY" -c "$(main_of "$module" "$module")" "$@"; }
rabbitmqctl() { as_user /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" "$@"; }

export RABBITMQ_NODENAME=opslab@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=5679 \
  RABBITMQ_DIST_PORT=25679 RABBITMQ_MNESIA_BASE=$STATE/rabbitmq/mnesia RABBITMQ_LOG_BASE=$STATE/log \
  RABBITMQ_CONFIG_FILE=$STATE/rabbitmq/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$STATE/rabbitmq/enabled_plugins \
  RABBITMQ_PID_FILE=$STATE/run/rabbitmq.pid HOME=$STATE/rabbitmq ERL_EPMD_ADDRESS=127.0.0.1

auth_section() { # [section] for a service user talking to keystone
  cat <<EOF
[$1]
auth_type = password
auth_url = http://127.0.0.1:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $(secret user-$2)
region_name = RegionOne
EOF
}

authtoken_section() { # [keystone_authtoken]: how a service's API checks the tokens it is given
  auth_section keystone_authtoken "$1" | grep -v '^region_name'
  echo "www_authenticate_uri = http://127.0.0.1:5000"
}

write_configs() {
  local rabbit="rabbit://openstack:$(secret rabbit)@127.0.0.1:5679/"
  mkdir -p "$STATE"/{etc,log,run,lock,glance/images,glance/staging,glance/tasks,keystone,rabbitmq}
  cp "$PASTE/nova-api-paste.ini" "$STATE/etc/"
  # The services' own entry points, copied where opslab-os can read them: a checkout may sit in a
  # folder only root can enter (a clone in a 0700 mktemp dir did, in CI).
  mkdir -p "$STATE/lib" && cp "$HERE/nova-api.wsgi" "$HERE/neutron-server.py" "$STATE/lib/"
  cat > "$STATE/etc/my.cnf" <<EOF
[mysqld]
datadir = $STATE/mysql
socket = $SOCK
pid-file = $STATE/run/mysqld.pid
skip-networking
log-error = $STATE/log/mariadb.log
innodb_buffer_pool_size = 64M
max_connections = 500
EOF
  cat > "$STATE/rabbitmq/rabbitmq.conf" <<EOF
loopback_users = none
listeners.tcp.default = 127.0.0.1:5679
EOF
  echo '[].' > "$STATE/rabbitmq/enabled_plugins"
  cat > "$STATE/etc/keystone.conf" <<EOF
[DEFAULT]
log_file = $STATE/log/keystone.log
[database]
connection = $(db_url keystone)
[token]
provider = fernet
[fernet_tokens]
key_repository = $STATE/keystone/fernet-keys
[fernet_receipts]
key_repository = $STATE/keystone/fernet-keys
[credential]
key_repository = $STATE/keystone/credential-keys
[oslo_policy]
enforce_new_defaults = false
[identity]
# Every CLI call logs in with a password. bcrypt's default 12 rounds cost Keystone ~0.45 s of CPU
# per login here: with a room typing, the two cores went to hashing. Every password this cloud
# holds is 18 random bytes (attendees', services', admin's): guessing one is out of reach at any
# cost factor, so 4 rounds (bcrypt's minimum) protect them as well. Applies to passwords set from now on.
password_hash_rounds = 4
[cache]
# Each of Keystone's processes keeps what it looked up (catalog, roles, tokens) in memory for a
# minute: a CLI call cost Keystone 0.17 s of CPU without it, 0.02 s with it. A memory cache is not
# shared between processes, so what must never be stale is left out: revocations (below).
enabled = true
backend = dogpile.cache.memory
expiration_time = 60
[revoke]
caching = false
EOF
  cat > "$STATE/etc/placement.conf" <<EOF
[DEFAULT]
log_file = $STATE/log/placement.log
[placement_database]
connection = $(db_url placement)
[api]
auth_strategy = keystone
$(authtoken_section placement)
EOF
  cat > "$STATE/etc/glance-api.conf" <<EOF
[DEFAULT]
log_file = $STATE/log/glance.log
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
enabled_backends = fs:file
[database]
connection = $(db_url glance)
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $STATE/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $STATE/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $STATE/glance/tasks
[paste_deploy]
flavor = keystone
config_file = $PASTE/glance-api-paste.ini
$(authtoken_section glance)
[oslo_concurrency]
lock_path = $STATE/lock
EOF
  cat > "$STATE/etc/neutron.conf" <<EOF
[DEFAULT]
log_file = $STATE/log/neutron.log
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins =
auth_strategy = keystone
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = $rabbit
api_paste_config = $PASTE/neutron-api-paste.ini
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
[database]
connection = $(db_url neutron)
[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers =
extension_drivers =
$(authtoken_section neutron)
$(auth_section nova nova)
[oslo_concurrency]
lock_path = $STATE/lock
EOF
  cat > "$STATE/etc/nova.conf" <<EOF
[DEFAULT]
log_dir = $STATE/log
state_path = $STATE/nova
host = opslab-compute
compute_driver = fake.FakeDriver
transport_url = $rabbit
enabled_apis = osapi_compute
osapi_compute_workers = 1
shelved_offload_time = 0
[api]
auth_strategy = keystone
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[wsgi]
api_paste_config = $PASTE/nova-api-paste.ini
[oslo_concurrency]
lock_path = $STATE/lock
$(authtoken_section nova)
$(auth_section placement placement)
$(auth_section neutron neutron)
[service_user]
send_service_user_token = false
EOF
}

pidfile() { echo "$STATE/run/$1.service.pid"; }
# Starts a service in the background, in its own session (stopped by process group), logging to its .out.
launch() {
  # 9>&-: the services must not inherit the lock of this start (they would hold it for their lifetime).
  setsid "$HERE/control-plane.sh" run "$1" > "$STATE/log/$1.out" 2>&1 < /dev/null 9>&- &
  echo $! > "$(pidfile "$1")"
}

mysql_root() { mariadb --no-defaults --connect-timeout=2 -S "$SOCK" -uroot "$@"; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "control-plane: $what did not come up within $seconds s" >&2
  return 1
}

run() {
  local service=$1
  cd "$STATE" # a working directory opslab-os can enter
  case "$service" in
    mariadb) exec_as_user /usr/sbin/mariadbd --defaults-file="$STATE/etc/my.cnf" ;;
    rabbitmq) exec_as_user /usr/lib/rabbitmq/bin/rabbitmq-server ;;
    keystone) exec_uwsgi 5000 /usr/bin/keystone-wsgi-public OS_KEYSTONE_CONFIG_DIR="$STATE/etc" ;;
    placement) exec_uwsgi 8778 /usr/bin/placement-api OS_PLACEMENT_CONFIG_DIR="$STATE/etc" ;;
    # nova's wsgi app reads its paste pipeline from the first of these files.
    nova-api) exec_uwsgi 8774 "$STATE/lib/nova-api.wsgi" OS_NOVA_CONFIG_DIR="$STATE/etc" OS_NOVA_CONFIG_FILES="nova-api-paste.ini;nova.conf" ;;
    glance) exec_as_user "$PY" -c "$(main_of glance.cmd.api /usr/bin/glance-api)" --config-file "$STATE/etc/glance-api.conf" ;;
    neutron) exec_as_user "$PY" "$STATE/lib/neutron-server.py" --config-file "$STATE/etc/neutron.conf" ;;
    nova-conductor|nova-scheduler|nova-compute)
      # --log-file: oslo.log would name the file after the program it sees, "<string>", for all three.
      exec_as_user "$PY" -c "$(main_of "nova.cmd.${service#nova-}" "/usr/bin/$service")" --config-file "$STATE/etc/nova.conf" --log-file "$STATE/log/$service.log" ;;
    *) echo "control-plane: unknown service $service (known: $SERVICES)" >&2; exit 2 ;;
  esac
}

exec_uwsgi() { # port wsgi-file env...
  local port=$1 file=$2; shift 2
  local envs=(); for e in "$@"; do envs+=(--env "$e"); done
  # uwsgi's http-socket closes every connection after its response: `Connection: close` keeps
  # clients from sending a POST on a connection it has closed (seen: "connection reset" mid-run).
  exec_as_user /usr/bin/uwsgi --plugin python3 \
    --http-socket "127.0.0.1:$port" --wsgi-file "$file" --master --processes 2 --threads 1 \
    --die-on-term --lazy-apps --need-app --buffer-size 65535 --add-header "Connection: close" \
    "${envs[@]}"
}

bootstrap() {
  # The services started here are for the bootstrap only: stopped when it ends, however it ends.
  trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT
  id "$USER_NAME" >/dev/null 2>&1 || useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  mkdir -p "$STATE/secrets" && chmod 0700 "$STATE/secrets"
  for name in rabbit admin db-keystone db-placement db-glance db-neutron db-nova db-nova_api \
      user-placement user-glance user-neutron user-nova; do
    [ -s "$STATE/secrets/$name" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$STATE/secrets/$name"
  done
  write_configs
  chown -R "$USER_NAME:$USER_NAME" "$STATE"
  chmod 0700 "$STATE"

  echo "control-plane: MariaDB"
  if [ ! -d "$STATE/mysql/mysql" ]; then
    as_user mariadb-install-db --no-defaults --datadir="$STATE/mysql" --auth-root-authentication-method=socket >/dev/null
  fi
  launch mariadb
  wait_for 30 MariaDB healthy mariadb
  for db in keystone placement glance neutron nova nova_api nova_cell0; do
    local user=$db; [ "$db" = nova_cell0 ] && user=nova
    mysql_root -e "CREATE DATABASE IF NOT EXISTS $db; CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$(secret db-$user)'; GRANT ALL ON $db.* TO '$user'@'localhost';"
  done

  echo "control-plane: RabbitMQ"
  launch rabbitmq
  # Not `ping`: it answers before the rabbit app runs, and adding a user needs the app.
  wait_for 60 RabbitMQ rabbitmqctl status
  rabbitmqctl add_user openstack "$(secret rabbit)" >/dev/null 2>&1 || true
  rabbitmqctl set_permissions openstack '.*' '.*' '.*' >/dev/null

  echo "control-plane: Keystone"
  as_user keystone-manage --config-file "$STATE/etc/keystone.conf" db_sync
  as_user keystone-manage --config-file "$STATE/etc/keystone.conf" fernet_setup --keystone-user "$USER_NAME" --keystone-group "$USER_NAME"
  as_user keystone-manage --config-file "$STATE/etc/keystone.conf" credential_setup --keystone-user "$USER_NAME" --keystone-group "$USER_NAME"
  as_user keystone-manage --config-file "$STATE/etc/keystone.conf" bootstrap --bootstrap-password "$(secret admin)" \
    --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
    --bootstrap-public-url http://127.0.0.1:5000/v3/ --bootstrap-region-id RegionOne >/dev/null
  launch keystone
  wait_for 60 Keystone healthy keystone

  echo "control-plane: catalog and service users"
  OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_PASSWORD="$(secret admin)" STATE="$STATE" "$PY" "$HERE/catalog.py"

  echo "control-plane: database schemas"
  as_user placement-manage --config-dir "$STATE/etc" db sync
  py_main glance.cmd.manage --config-file "$STATE/etc/glance-api.conf" db_sync >/dev/null
  as_user "$PY" -c 'import sys; from neutron.db.migration.cli import main; sys.exit(main())' \
    --config-file "$STATE/etc/neutron.conf" upgrade heads >/dev/null
  local manage=(py_main nova.cmd.manage --config-file "$STATE/etc/nova.conf")
  "${manage[@]}" api_db sync
  "${manage[@]}" cell_v2 map_cell0 --database_connection "$(db_url nova_cell0 nova)"
  "${manage[@]}" cell_v2 list_cells | grep -q ' cell1 ' || "${manage[@]}" cell_v2 create_cell --name cell1 >/dev/null
  "${manage[@]}" db sync

  kill $(jobs -p) 2>/dev/null; wait 2>/dev/null
  trap - EXIT
  touch "$STATE/bootstrapped"
  echo "control-plane: bootstrapped in $STATE"
}


# Running: its pid is there and not a zombie (a killed service stays one until it is reaped, by
# whichever process its session was left to — on a busy machine, seconds: it is dead all the same).
alive() {
  local f pid
  f=$(pidfile "$1")
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ]
}
api_port() { case "$1" in keystone) echo 5000;; placement) echo 8778;; glance) echo 9292;; neutron) echo 9696;; nova-api) echo 8774;; esac; }

healthy() {
  case "$1" in
    mariadb) mysql_root -e 'SELECT 1' ;;
    rabbitmq) rabbitmqctl -q ping ;;
    keystone|placement|glance|neutron|nova-api) curl -s -o /dev/null "http://127.0.0.1:$(api_port "$1")/" ;;
    # A worker is up once it has reported to the database (every 10 s).
    nova-conductor|nova-scheduler|nova-compute)
      mysql_root -N -e "SELECT 1 FROM nova.services WHERE \`binary\` = '$1' AND deleted = 0 AND COALESCE(updated_at, created_at) > UTC_TIMESTAMP() - INTERVAL 30 SECOND" | grep -q 1 ;;
  esac
}

compute_registered() { mysql_root -N -e "SELECT 1 FROM nova.compute_nodes WHERE deleted = 0" | grep -q 1; }

start() {
  [ -e "$STATE/bootstrapped" ] || bootstrap
  # Configs are derived from this script and the secrets: rewritten at each start, so an update of
  # the project takes effect on the next start.
  write_configs
  chown -R "$USER_NAME:$USER_NAME" "$STATE/etc"
  local started=$SECONDS count=0 total
  # Counted ("keystone (3 of 20)"): whoever waits for the start can draw a progress bar from it.
  total=$(( $(wc -w <<< "$SERVICES") * 2 ))
  for service in $SERVICES; do
    count=$((count + 1))
    if alive "$service"; then continue; fi
    echo "control-plane: starting $service ($count of $total)"
    launch "$service"
    # The APIs and workers need the database and the queue; the rest start side by side.
    case "$service" in mariadb|rabbitmq|keystone) wait_for 90 "$service" healthy "$service" ;; esac
  done
  for service in $SERVICES; do
    count=$((count + 1))
    healthy "$service" 2>/dev/null || echo "control-plane: waiting for $service to answer ($count of $total)"
    wait_for 120 "$service" healthy "$service" || { echo "control-plane: the end of $STATE/log/$service.out:" >&2; tail -n 5 "$STATE/log/$service.out" >&2; exit 1; }
  done
  # The fake compute host registers itself; map it into the cell once it has.
  wait_for 60 "nova-compute's service record" compute_registered
  py_main nova.cmd.manage --config-file "$STATE/etc/nova.conf" cell_v2 discover_hosts >/dev/null 2>&1
  echo "control-plane: up in $((SECONDS - started)) s"
}

stop() {
  local reversed=; for service in $SERVICES; do reversed="$service $reversed"; done
  for service in $reversed; do
    alive "$service" || continue
    kill -TERM -- "-$(cat "$(pidfile "$service")")" 2>/dev/null
    for _ in $(seq 100); do alive "$service" || break; sleep 0.1; done
    alive "$service" && kill -KILL -- "-$(cat "$(pidfile "$service")")" 2>/dev/null
    rm -f "$(pidfile "$service")"
  done
  pkill -u "$USER_NAME" 2>/dev/null || true # epmd, which rabbitmq leaves running
  echo "control-plane: stopped"
}

# Commands run as opslab-os need a working directory it can enter (not, say, a 0700 checkout).
mkdir -p "$STATE" && cd "$STATE"
# One bootstrap/start/stop at a time: the test runner warms the plane while a test may ask for it.
case "${1:-}" in bootstrap|start|stop) exec 9> "$STATE/.lock"; flock 9 ;; esac
case "${1:-}" in
  bootstrap) bootstrap ;;
  start) start ;;
  stop) stop ;;
  status) for service in $SERVICES; do if alive "$service"; then echo "$service running"; else echo "$service stopped"; fi; done ;;
  run) run "${2:?run needs a service: $SERVICES}" ;;
  services) echo "$SERVICES" ;;
  *) echo "usage: control-plane.sh bootstrap | start | stop | status | run SERVICE | services" >&2; exit 2 ;;
esac
