"""Modules that misbehave when imported or called, for the commands' bad-input tests."""
