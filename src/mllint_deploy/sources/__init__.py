"""Bytes to analysable text and back: decoding, notebooks and their cell map, positions, the fast CST walk."""
