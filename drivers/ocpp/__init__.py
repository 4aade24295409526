"""OCPP central system for 1.6J, 2.0.1 and 2.1 charge points (see docs/ocpp.md).

The driver is built by `drivers.ocpp.driver.create_driver` (see drivers.registry); the
package itself imports nothing.
"""
