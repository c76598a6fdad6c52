"""Home Assistant custom integrations shipped with netmon-mqtt."""
