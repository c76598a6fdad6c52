"""Forward-only schema migrations, versioned with ``PRAGMA user_version``.

Append a script to ``MIGRATIONS`` to change the schema; never edit a released one.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the device inventory
    """
    CREATE TABLE devices (
        id           TEXT PRIMARY KEY,
        mac          TEXT UNIQUE,
        ip           TEXT,
        hostname     TEXT,
        vendor       TEXT,
        name         TEXT,
        first_seen   TEXT NOT NULL,
        last_seen    TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'unknown',
        tracked      INTEGER NOT NULL DEFAULT 1,
        ha_discovery INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX devices_ip ON devices (ip);
    """,
    # 2: names per source, per-source details, IPv6 addresses, device type with evidence
    """
    ALTER TABLE devices ADD COLUMN names TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE devices ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE devices ADD COLUMN ipv6 TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE devices ADD COLUMN device_type TEXT;
    ALTER TABLE devices ADD COLUMN type_evidence TEXT NOT NULL DEFAULT '[]';
    UPDATE devices SET names = json_object('dns', hostname) WHERE hostname IS NOT NULL;
    """,
    # 3: rolling history: metrics windows and presence changes
    """
    CREATE TABLE samples (
        device_id       TEXT NOT NULL,
        at              TEXT NOT NULL,
        presence        TEXT NOT NULL,
        latency_ms      REAL,
        latency_min_ms  REAL,
        latency_max_ms  REAL,
        jitter_ms       REAL,
        packet_loss_pct REAL,
        probes          INTEGER NOT NULL
    );
    CREATE INDEX samples_device_at ON samples (device_id, at);
    CREATE TABLE presence_changes (
        device_id TEXT NOT NULL,
        at        TEXT NOT NULL,
        presence  TEXT NOT NULL,
        reason    TEXT
    );
    CREATE INDEX presence_changes_device_at ON presence_changes (device_id, at);
    """,
    # 4: devices removed with "block": never added again
    """
    CREATE TABLE blocked (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    """,
    # 5: service options changed at run time (the `options` request), JSON values
    """
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 6: each device's rhythm (recent silent gaps) and the MACs linked to it or split off
    """
    ALTER TABLE devices ADD COLUMN gaps TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE devices ADD COLUMN links TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE devices ADD COLUMN unlinked TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX blocked_at ON blocked (at);
    """,
    # 7: how sure the type guess is (0-100)
    """
    ALTER TABLE devices ADD COLUMN type_confidence INTEGER;
    """,
    # 8: devices the owner knows; those of an earlier release were already in its inventory
    """
    ALTER TABLE devices ADD COLUMN known INTEGER NOT NULL DEFAULT 0;
    UPDATE devices SET known = 1;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
