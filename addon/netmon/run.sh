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
exec netmon-mqtt run --config /tmp/netmon.yaml
