"""Replaying recorded traffic: sources of requests, the replay loop, Locust export."""
