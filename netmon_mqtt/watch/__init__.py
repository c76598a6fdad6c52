"""``netmon-mqtt watch``: the live terminal view."""
