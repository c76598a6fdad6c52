"""Where each device is plugged in: switch forwarding tables and LLDP neighbours."""
