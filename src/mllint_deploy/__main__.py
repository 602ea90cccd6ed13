"""`python -m mllint_deploy` runs the command-line interface."""

from mllint_deploy.cli import main

main()
