"""Suppressions: noqa comments, baselines, and the one ordered chain that applies them."""
