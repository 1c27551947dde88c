"""Pulse: analytics and BI platform with an ETL warehouse."""

__version__ = "0.1.0"
