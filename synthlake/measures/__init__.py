"""Measures of generated sets: diversity, coverage of the task, and version differences.

The Dagster group of the same name wraps it (assets/measures.py).
"""
