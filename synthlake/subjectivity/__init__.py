"""Subjectivity: task rankings from judgments, their reliability, proxies from real data.

The Dagster group of the same name wraps it (assets/analysis.py).
"""
