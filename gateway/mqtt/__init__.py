"""MQTT side of the gateway: one connection, outbox delivery, command intake."""

from gateway.mqtt.link import MqttLink

__all__ = ["MqttLink"]
