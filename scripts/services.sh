#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and Mosquitto answer on 127.0.0.1 (5432, 6379,
# 1883) and that the application database exists.
#
# Anything already answering is left alone and nothing is printed. Anything
# missing is installed with apt-get and started without systemd, so a fresh
# Debian/Ubuntu machine or container needs root for the first run.
#
# Usage: scripts/services.sh [chromium] [node] [mosquitto] [no-broker]
#   chromium  also install Debian's chromium (browser tests)
#   node      also make sure node and npm exist
#   mosquitto also make sure the mosquitto binary exists (the bench starts
#             a broker of its own with it)
#   no-broker leave MQTT alone: PostgreSQL and Redis only (make run, whose
#             server runs its own broker)
set -euo pipefail

readonly DB_URL="${FLEETTASKS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleettasks?sslmode=disable}"
readonly MOSQUITTO_CONF=/etc/mosquitto/fleettasks.conf
readonly WAIT_SECONDS=30

want_chromium=false
want_node=false
want_mosquitto=false
want_broker=true
for arg in "$@"; do
	case "$arg" in
	chromium) want_chromium=true ;;
	node) want_node=true ;;
	mosquitto) want_mosquitto=true ;;
	no-broker) want_broker=false ;;
	*)
		echo "usage: $0 [chromium] [node] [mosquitto] [no-broker]" >&2
		exit 2
		;;
	esac
done

if [[ -d /usr/local/go/bin ]]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

say() { echo "services: $*" >&2; }
die() {
	echo "services: error: $*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
# Debian installs the broker in /usr/sbin, which a non-login PATH may lack.
have_mosquitto() { have mosquitto || [[ -x /usr/sbin/mosquitto ]]; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (expected in /usr/local/go/bin)"

# ---- probes ---------------------------------------------------------------

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

pg_up() {
	if have pg_isready; then
		pg_isready -q -h 127.0.0.1 -p 5432 -t 2
	else
		tcp_open 5432
	fi
}

redis_up() {
	if have redis-cli; then
		[[ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]
	else
		# shellcheck disable=SC2016 # expanded by the inner bash
		timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 &&
			read -r line <&3 && [[ $line == +PONG* ]]' 2>/dev/null
	fi
}

mqtt_up() { ! $want_broker || tcp_open 1883; }

all_up() { pg_up && redis_up && mqtt_up; }

wait_for() { # name probe
	local name=$1 probe=$2 i
	for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
		if "$probe"; then
			return 0
		fi
		sleep 0.5
	done
	die "$name does not answer on 127.0.0.1 after ${WAIT_SECONDS}s"
}

need_root() {
	[[ $EUID -eq 0 ]] || die "$1: run this script as root (it installs and starts services)"
}

# ---- packages -------------------------------------------------------------

packages=()
plan() { packages+=("$@"); }

apt_install() {
	((${#packages[@]})) || return 0
	need_root "installing ${packages[*]}"
	have apt-get || die "apt-get not found: install ${packages[*]} by hand"
	say "installing ${packages[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# C.UTF-8 so that a PostgreSQL cluster created by the package is UTF8.
	LC_ALL=C.UTF-8 apt-get update -q >/dev/null 9>&-
	LC_ALL=C.UTF-8 apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null 9>&-
}

pg_server_installed() {
	have pg_ctlcluster && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# ---- PostgreSQL -----------------------------------------------------------

start_postgres() {
	need_root "starting PostgreSQL"
	local v conf hba
	v=$(find /etc/postgresql -mindepth 2 -maxdepth 2 -name main -type d 2>/dev/null |
		awk -F/ '{print $4}' | sort -V | tail -n 1)
	if [[ -z $v ]]; then
		v=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)
		[[ -n $v ]] || die "no PostgreSQL server under /usr/lib/postgresql"
		say "creating PostgreSQL $v cluster main"
		LC_ALL=C.UTF-8 pg_createcluster --locale C.UTF-8 --encoding UTF8 "$v" main >/dev/null
	fi
	conf=/etc/postgresql/$v/main/postgresql.conf
	hba=/etc/postgresql/$v/main/pg_hba.conf

	# Later settings win, so appending overrides the package defaults.
	if ! grep -q '^# fleettasks: services.sh' "$conf"; then
		cat >>"$conf" <<-'EOF'

			# fleettasks: services.sh
			listen_addresses = '127.0.0.1'
			port = 5432
		EOF
	fi
	# The first matching line wins, so these go on top.
	if ! grep -q '^# fleettasks: services.sh' "$hba"; then
		{
			echo '# fleettasks: services.sh (trust on this machine only)'
			echo 'local all all                trust'
			echo 'host  all all 127.0.0.1/32   trust'
			echo 'host  all all ::1/128        trust'
			cat "$hba"
		} >"$hba.new"
		chown --reference="$hba" "$hba.new"
		chmod --reference="$hba" "$hba.new"
		mv "$hba.new" "$hba"
	fi

	say "starting PostgreSQL $v"
	if pg_ctlcluster "$v" main status >/dev/null 2>&1; then
		# Started by the package with its own settings: pick up ours.
		pg_ctlcluster --skip-systemctl-redirect "$v" main restart 9>&-
	else
		pg_ctlcluster --skip-systemctl-redirect "$v" main start 9>&-
	fi
}

# ---- Redis ----------------------------------------------------------------

start_redis() {
	need_root "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis
	say "starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
		--save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log 9>&-
}

# ---- Mosquitto ------------------------------------------------------------

start_mosquitto() {
	need_root "starting Mosquitto"
	mkdir -p "$(dirname "$MOSQUITTO_CONF")" /var/log/mosquitto
	# mosquitto drops root for its own user, which must be able to write the log.
	if id mosquitto >/dev/null 2>&1; then
		chown mosquitto: /var/log/mosquitto
	fi
	cat >"$MOSQUITTO_CONF" <<-'EOF'
		# Written by fleettasks scripts/services.sh.
		listener 1883 127.0.0.1
		allow_anonymous true
		persistence false
		# room for large fleets: QoS 1 in flight and queued per client
		max_inflight_messages 1000
		max_queued_messages 100000
		set_tcp_nodelay true
		log_dest file /var/log/mosquitto/fleettasks.log
	EOF
	say "starting Mosquitto"
	mosquitto -d -c "$MOSQUITTO_CONF" 9>&-
}

# ---- main -----------------------------------------------------------------

ensure_services() {
	local pg=true redis=true mqtt=true
	pg_up || pg=false
	redis_up || redis=false
	mqtt_up || mqtt=false

	if ! $pg && ! pg_server_installed; then plan postgresql; fi
	if $pg && ! { have psql && have createdb; }; then plan postgresql-client; fi
	if ! $redis && ! have redis-server; then plan redis-server; fi
	if { ! $mqtt || $want_mosquitto; } && ! have_mosquitto; then plan mosquitto mosquitto-clients; fi
	if $want_chromium && [[ ! -x /usr/bin/chromium ]]; then plan chromium fonts-liberation; fi
	if $want_node && ! have node; then plan nodejs; fi
	if $want_node && ! have npm; then plan npm; fi
	# Go fetches modules over HTTPS.
	if [[ ! -e /etc/ssl/certs/ca-certificates.crt ]]; then plan ca-certificates; fi
	apt_install

	# A package may start its service itself (when policy-rc.d allows it).
	if ! $pg; then
		start_postgres
		wait_for PostgreSQL pg_up
	fi
	if ! $redis && ! redis_up; then
		tcp_open 6379 && die "something listens on 127.0.0.1:6379 but does not answer PING"
		start_redis
		wait_for Redis redis_up
	fi
	if ! $mqtt && ! mqtt_up; then
		start_mosquitto
		wait_for Mosquitto mqtt_up
	fi
}

ensure_database() {
	local rest db
	rest=${DB_URL#*://}
	rest=${rest%%\?*}
	db=fleettasks
	if [[ $rest == */* && -n ${rest#*/} ]]; then
		db=${rest#*/}
	fi
	[[ $db =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] ||
		die "database name '$db' from FLEETTASKS_DATABASE_URL: use letters, digits, '_' and '-'"
	local psql=(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAX -v ON_ERROR_STOP=1)
	local found
	found=$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ||
		die "cannot query PostgreSQL as user postgres on 127.0.0.1:5432 (is trust auth configured?)"
	[[ $found == 1 ]] && return 0
	if ! createdb -h 127.0.0.1 -p 5432 -U postgres "$db" 2>/dev/null; then
		# Another run may have created it meanwhile.
		[[ $("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'") == 1 ]] ||
			die "cannot create database $db"
	fi
	say "created database $db"
}

needs_work() {
	! all_up && return 0
	! { have psql && have createdb; } && return 0
	$want_chromium && [[ ! -x /usr/bin/chromium ]] && return 0
	$want_node && ! { have node && have npm; } && return 0
	$want_mosquitto && ! have_mosquitto && return 0
	[[ ! -e /etc/ssl/certs/ca-certificates.crt ]] && return 0
	return 1
}

if needs_work; then
	# Two runs at once (make run and make test) must not race apt or starts.
	lock=/tmp/fleettasks-services.lock
	[[ -d /run/lock ]] && lock=/run/lock/fleettasks-services.lock
	exec 9>>"$lock"
	flock -w 600 9 || die "another services.sh holds $lock"
	ensure_services
fi
ensure_database
