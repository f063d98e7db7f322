"""Turning a RunResult into text for the terminal and files on disk."""
