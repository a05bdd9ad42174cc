"""What leaves the home: versioned JSON payloads and their MQTT topics. Pure, no I/O."""
