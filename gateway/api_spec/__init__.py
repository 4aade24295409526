"""The MQTT interface as data: topics, payload schemas, and the documents generated from them."""

from gateway.api_spec.channels import CHANNELS, Channel, match_topic
from gateway.api_spec.payload_schemas import PAYLOAD_SCHEMAS, command_schema_name

__all__ = ["CHANNELS", "PAYLOAD_SCHEMAS", "Channel", "command_schema_name", "match_topic"]
