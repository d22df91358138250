"""Evaluation: classifiers trained per source, learning curves, what a set is worth.

The Dagster group of the same name wraps it (assets/evaluation.py).
"""
