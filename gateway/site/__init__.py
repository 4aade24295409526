"""The site controller: hold grid import (and export) inside the limit in force."""

from gateway.site.controller import SiteController
from gateway.site.inputs import SitePlan
from gateway.site.planner import plan

__all__ = ["SiteController", "SitePlan", "plan"]
