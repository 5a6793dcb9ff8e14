"""Transport steering xApp: per-link, per-slice transport shares from link telemetry, inside the rApp's plan."""
