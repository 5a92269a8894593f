"""`python -m riskops`: the CLI, for child processes started with this very interpreter."""

from riskops.cli import app

app(prog_name="riskops")
