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

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY netmon_mqtt ./netmon_mqtt
RUN uv sync --locked --no-dev \
 # Raw sockets for the unprivileged user: ARP sweeps and ICMP probes. Permitted, not
 # effective: the service puts it in force itself where the container has NET_RAW, and the
 # interpreter still starts (with fewer sources) where it has not.
 && setcap cap_net_raw+ip "$(readlink -f /usr/local/bin/python3.11)"

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1
USER netmon
VOLUME ["/data"]
WORKDIR /data
CMD ["netmon-mqtt", "run", "--config", "/config/netmon.yaml", "--database", "/data/netmon.db"]
