"""`python -m warehouse.embedded serve`: how `pulse warehouse start` runs the server in the background."""

from warehouse.embedded.cli import app

app()
