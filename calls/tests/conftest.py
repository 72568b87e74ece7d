"""Fixtures of the calls tests. `livekit_server` (testsupport/livekit.py) comes from the
root conftest, for every app."""
