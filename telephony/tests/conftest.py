"""Fixtures of the telephony tests: the local LiveKit server (testsupport/livekit.py)."""

from testsupport.livekit import livekit_server  # noqa: F401
