#!/bin/sh
# The add-on's entry point: the Supervisor writes the options to /data/options.json and
# provides the broker (the Mosquitto add-on) through its services API.
set -eu
set --
if [ -n "${SUPERVISOR_TOKEN:-}" ] \
  && curl -fsS -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" \
       http://supervisor/services/mqtt -o /tmp/mqtt-reply.json; then
  jq '.data' /tmp/mqtt-reply.json > /tmp/mqtt-service.json
  set -- --mqtt-service /tmp/mqtt-service.json
fi
netmon-mqtt addon-config /data/options.json "$@" > /tmp/netmon.yaml
exec netmon-mqtt run --config /tmp/netmon.yaml
