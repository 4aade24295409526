"""Configuration: one YAML file, validated strictly, errors with key paths."""

from gateway.config.loader import ConfigError, ConfigProblem, load_config, parse_config
from gateway.config.models import (
    ChargerConfig,
    Config,
    ModbusDeviceConfig,
    MqttConfig,
    OcppConfig,
    SiteConfig,
)

__all__ = [
    "ChargerConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "ModbusDeviceConfig",
    "MqttConfig",
    "OcppConfig",
    "SiteConfig",
    "load_config",
    "parse_config",
]
