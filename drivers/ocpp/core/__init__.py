"""The pure core of the OCPP driver: payloads in, model values out. No sockets, no asyncio.

Every function here takes plain values (decoded JSON, numbers, config fields) and returns plain
values or model records, so it is tested with tables of recorded payloads.
"""
