"""The embedded platform: its services in start order, `pulse up`/`down`/`status`, and `pulse demo`."""
