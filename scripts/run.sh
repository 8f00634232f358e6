#!/usr/bin/env bash
# make run: fleettasks serve with its embedded MQTT broker (no Mosquitto
# needed), an admin user, and 50 simulated devices of product "demo" that
# sign in with their own secrets.
#
# The broker listens on 127.0.0.1:1883, or, when another broker already
# holds that port, on the next free one up to 1899 (printed below). Set
# FLEETTASKS_BROKER=external to use a Mosquitto on 1883 instead (started,
# or installed, when missing), or FLEETTASKS_BROKER_ADDR to choose the
# address. The demo devices' secrets are kept in
# $FLEETTASKS_DATA_DIR/demo-secrets.csv (./data by default).
set -euo pipefail

bin=bin/fleettasks
export FLEETTASKS_BROKER="${FLEETTASKS_BROKER:-embedded}"

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

if [[ $FLEETTASKS_BROKER == embedded ]]; then
	bash scripts/services.sh no-broker
	if [[ -z ${FLEETTASKS_BROKER_ADDR:-} ]]; then
		for port in $(seq 1883 1899); do
			if ! port_open 127.0.0.1 "$port"; then
				export FLEETTASKS_BROKER_ADDR="127.0.0.1:$port"
				break
			fi
		done
		[[ -n ${FLEETTASKS_BROKER_ADDR:-} ]] ||
			{ echo "run: ports 1883 to 1899 are all taken; set FLEETTASKS_BROKER_ADDR" >&2; exit 1; }
	fi
	broker="$FLEETTASKS_BROKER_ADDR"
	broker_says="embedded broker mqtt://$broker (devices sign in with their secrets)"
else
	bash scripts/services.sh
	broker="127.0.0.1:1883"
	broker_says="external broker ${FLEETTASKS_MQTT_URL:-tcp://127.0.0.1:1883}"
fi

$bin migrate
$bin users create --email admin@fleettasks.local --role admin --if-absent

addr="${FLEETTASKS_HTTP_ADDR:-127.0.0.1:8080}"
case "$addr" in
:*) addr="127.0.0.1$addr" ;;
0.0.0.0:*) addr="127.0.0.1:${addr##*:}" ;;
esac
data="${FLEETTASKS_DATA_DIR:-data}"
mkdir -p "$data"
echo "fleettasks console: http://$addr/"
echo "MQTT: $broker_says"
echo "demo fleet: product 'demo', devices d1..d50 (mixed: most succeed, some fail, reject or hang); secrets in $data/demo-secrets.csv"

# The simulated devices start once the broker listens (the embedded one
# starts with serve).
(
	host="${broker%:*}" port="${broker##*:}"
	[[ $host == 0.0.0.0 || -z $host ]] && host=127.0.0.1
	for _ in $(seq 300); do
		port_open "$host" "$port" && break
		sleep 0.2
	done
	exec $bin simulate --product demo --devices 50 --register --rotate-unknown \
		--secrets "$data/demo-secrets.csv" --behaviour mixed --work 3s
) &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT INT TERM
FLEETTASKS_WEBHOOK_ALLOW_PRIVATE="${FLEETTASKS_WEBHOOK_ALLOW_PRIVATE:-true}" $bin serve
