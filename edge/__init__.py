"""Edge gateway for home health monitoring: BLE wearables to MQTT, with on-box detection."""

__version__ = "0.1.0"
