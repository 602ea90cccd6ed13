"""The project pass: every file's facts, module resolution, the feature contract."""
