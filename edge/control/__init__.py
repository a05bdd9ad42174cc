"""Remote control of a gateway over MQTT: signed configuration and model updates, each checked,
applied or refused, written to a hash-chained audit log, and answered."""
