"""One run: discovery, the per-file phase (parallel, cached), the project pass, suppressions."""
