"""Alerts that reach people: the service that evaluates the operational rules and sends notices, the metric rules
checked after each warehouse build, and `pulse alerts ...`."""
