"""The technician's web page: live site view, commissioning panel, logins (docs/web.md)."""

from gateway.web.routes import WebPage

__all__ = ["WebPage"]
