"""The project's own tests (make test): never shipped in the student kit.

Each module gives parts: a title and its checks, each check a function that
returns what it found wrong (nothing: it passed). runner.py runs them.
"""
