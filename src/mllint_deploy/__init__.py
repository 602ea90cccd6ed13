"""mllint-deploy: a static linter for machine-learning training and serving code."""

__version__ = "0.1.0"
