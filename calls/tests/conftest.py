"""Fixtures of the calls tests. `livekit_server` (morpheus/testing_livekit.py) comes from the
root conftest, for every app."""
