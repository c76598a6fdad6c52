# netmon-mqtt container image.
#
# Run with host networking (ARP and ICMP must see the LAN itself, not a Docker bridge) and the
# NET_RAW capability (raw sockets for ARP sweeps and ICMP):
#
#   docker run -d --name netmon --network host --cap-add NET_RAW \
#     -v netmon-data:/data -v ./netmon.yaml:/config/netmon.yaml:ro \
#     netmon-mqtt
#
# The package is installed exactly as CI installs it: `uv sync --locked` from uv.lock.
# BASE is the image it builds on (the tests pass a local stand-in for the official one).
ARG BASE=python:3.11-slim
FROM ${BASE}

RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv \
 && useradd --system --home-dir /data --create-home netmon

# Raw sockets for the unprivileged user (ARP sweeps and ICMP probes) go to a copy of the
# interpreter used by the service alone, beside the real one (so it finds the same standard
# library): the image's shared python3 keeps no capability. Permitted, not effective: the
# service puts it in force itself where the container has NET_RAW, and the interpreter still
# starts (with fewer sources) where it has not.
RUN python="$(readlink -f "$(command -v python3.11)")" \
 && install -m 0755 "$python" "$(dirname "$python")/netmon-python3.11" \
 && setcap cap_net_raw+ip "$(dirname "$python")/netmon-python3.11"

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY netmon_mqtt ./netmon_mqtt
# The service's environment is built on that copy: /app/.venv/bin/python is it.
RUN uv sync --locked --no-dev \
      --python "$(dirname "$(readlink -f "$(command -v python3.11)")")/netmon-python3.11" \
 && test "$(readlink -f /app/.venv/bin/python)" != "$(readlink -f "$(command -v python3.11)")"

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1
USER netmon
VOLUME ["/data"]
WORKDIR /data
CMD ["netmon-mqtt", "run", "--config", "/config/netmon.yaml", "--database", "/data/netmon.db"]
