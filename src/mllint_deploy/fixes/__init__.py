"""Automatic fixes: what a fix is, how each rule's fix is computed, and how fixes are applied."""
