"""Analyses shared by many rules: qualified names, the dataflow model, seeds, taint."""
