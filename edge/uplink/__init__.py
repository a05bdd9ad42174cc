"""The uplink: drains the outbox to the care team's MQTT broker."""
