"""`python -m warehouse serve`: how `pulse warehouse start` runs the server in the background."""

from warehouse.cli import app

app()
