"""Analysis: the report page, its plots, and exports of the accepted rows.

The Dagster group of the same name wraps it (assets/analysis.py).
"""
