"""Loading the one YAML file: strict validation, every problem with its key path.

The schema itself (`Config` and its sections) is in `gateway.foundation.config`, where the
drivers can see it; the drivers' own checks (register maps) come in through `checks`.
"""

from gateway.config.loader import ConfigCheck, ConfigError, ConfigProblem, load_config, parse_config

__all__ = ["ConfigCheck", "ConfigError", "ConfigProblem", "load_config", "parse_config"]
