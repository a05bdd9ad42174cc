"""Links deliver raw characteristic values from wearables: BLE, or simulated in-process."""

from edge.link.notification import Notification

__all__ = ["Notification"]
