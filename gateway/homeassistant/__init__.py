"""Home Assistant MQTT discovery (opt-in: `homeassistant.enabled`)."""

from gateway.homeassistant.discovery import DiscoveryContext, HaDevice, discovery_messages
from gateway.homeassistant.publisher import DiscoveryPublisher, ha_devices

__all__ = ["DiscoveryContext", "DiscoveryPublisher", "HaDevice", "discovery_messages", "ha_devices"]
