"""Generation: prompts, answers parsed and checked, the label filter, every method.

One path for every method (zero-shot, few-shot, attributed, error-driven rounds, a plan's
pilot): `generate.prepare` sets up, `generate.Generator` asks and checks, `generate.write`
writes. The Dagster group of the same name wraps it (assets/generation.py).
"""
