"""PileBridge gateway core: model, config, MQTT outbox, commands, supervisor."""

__version__ = "0.1.0"
