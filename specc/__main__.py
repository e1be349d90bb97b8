"""`python -m specc`: the `specc` command line, for an interpreter whose scripts are not on PATH."""

from .cli import main_exit

main_exit()
