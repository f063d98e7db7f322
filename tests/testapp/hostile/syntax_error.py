"""A syntax error: excluded from ruff and mypy in pyproject.toml."""

def func(:
    return 1
