"""Pulse's own ClickHouse server: one process owns a chdb data directory and speaks ClickHouse's HTTP protocol.

Only the platform (`pulse.platform`, the CLI) starts it; every other package reaches the warehouse as a client
(`warehouse.client`, `warehouse.identities`), the same way it reaches a real ClickHouse server in production.
"""
