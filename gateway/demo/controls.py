"""The demo's own controls: make the simulated grid meter go missing and come back.

So a user can watch the site controller's fail-safe (docs/site-controller.md) without pulling
a cable: `POST /demo/grid-meter/off` stops the meter simulator's Modbus listener (the gateway's
polls fail as with a dead meter), `POST /demo/grid-meter/on` listens again on the same port.
They live on the demo gateway's HTTP listener, on loopback, and only in `pilebridge demo`.
A browser on another site cannot use them: a request that carries an `Origin` must come
from this listener's own address.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from aiohttp import web

from gateway.foundation.config import is_loopback_host
from simulators.inverter import MeterSimulator

__all__ = ["GRID_METER_PATH", "GridMeterSwitch", "add_demo_routes"]

log = structlog.get_logger("gateway.demo")

GRID_METER_PATH = "/demo/grid-meter/{state}"


class GridMeterSwitch:
    """Stops and restarts the simulated grid meter's listener (its readings keep running)."""

    def __init__(self, meter: MeterSimulator) -> None:
        self._meter = meter

    @property
    def online(self) -> bool:
        return self._meter.server.listening

    async def set(self, online: bool) -> None:
        if online == self.online:
            return
        if online:
            await self._meter.server.start()  # the port it had: the gateway finds it again
        else:
            await self._meter.server.stop()
        log.warning("demo_grid_meter", device_id="grid-1", online=online)


def add_demo_routes(app: web.Application, switch: GridMeterSwitch) -> None:
    async def grid_meter(request: web.Request) -> web.Response:
        state = request.match_info["state"]
        if state not in ("on", "off"):
            raise web.HTTPNotFound(text="use /demo/grid-meter/on or /demo/grid-meter/off\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="demo controls answer this listener's own page only\n")
        if not is_loopback_host(urlsplit(f"//{request.host}").hostname or ""):
            raise web.HTTPMisdirectedRequest(text="demo controls answer on loopback only\n")
        await switch.set(state == "on")
        return web.json_response({"grid_meter": "online" if switch.online else "offline"})

    app.router.add_post(GRID_METER_PATH, grid_meter)
