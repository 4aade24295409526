"""Commands from the control centre: payload schemas and the router to driver handlers."""

from gateway.foundation.commands.router import CommandHandler, CommandRouter
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS

__all__ = ["COMMAND_SCHEMAS", "CommandHandler", "CommandRouter"]
