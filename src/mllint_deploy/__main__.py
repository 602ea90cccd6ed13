"""`python -m mllint_deploy` runs the command-line interface."""

import os
import sys

# `python -m` puts the working directory first on sys.path, so a linted project's own `yaml.py`,
# `click.py` or `tokenize.py` would be imported (and run) in place of the linter's dependencies.
# The linter never runs the code it reads: drop that entry before importing anything else.
if sys.path and not getattr(sys.flags, "safe_path", False) and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from mllint_deploy.cli import main  # noqa: E402

if __name__ == "__main__":  # not when a spawned worker process re-imports this module
    main()
