"""`python -m pulse`: the same as the `pulse` command."""

from pulse.cli import main

main()
