#!/bin/sh
# The add-on's entry point: the Supervisor writes the options to /data/options.json and
# provides the broker (the Mosquitto add-on) through its services API. A broker named in the
# options (mqtt_host) is used as it is; without one the Supervisor's is required.
set -eu
set --
if [ -n "${SUPERVISOR_TOKEN:-}" ] \
  && curl -fsS -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" \
       http://supervisor/services/mqtt -o /tmp/mqtt-reply.json; then
  jq '.data' /tmp/mqtt-reply.json > /tmp/mqtt-service.json
  set -- --mqtt-service /tmp/mqtt-service.json
fi
# A bad option stops the add-on here, named.
netmon-mqtt addon-config /data/options.json "$@" > /tmp/netmon.yaml
if [ "$#" -eq 0 ] && [ -z "$(jq -r '.mqtt_host // empty' /data/options.json)" ]; then
  echo "netmon-mqtt: no MQTT broker: the Supervisor offers none (install and start the" \
    "Mosquitto broker add-on) and the mqtt_host option is empty" >&2
  exit 1
fi
# The service itself runs as the unprivileged user netmon where the Supervisor allows it
# (setpriv there and /data ours to hand over); raw sockets come from its interpreter's file
# capability and the add-on's NET_RAW. Otherwise it runs as root, and says so.
if command -v setpriv > /dev/null && chown -R netmon:netmon /data 2> /dev/null \
  && chown netmon:netmon /tmp/netmon.yaml; then
  chmod 600 /tmp/netmon.yaml
  exec setpriv --reuid=netmon --regid=netmon --init-groups \
    netmon-mqtt run --config /tmp/netmon.yaml
fi
echo "netmon-mqtt: running as root (cannot hand /data to the netmon user)" >&2
exec netmon-mqtt run --config /tmp/netmon.yaml
