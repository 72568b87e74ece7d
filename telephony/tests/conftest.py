"""Fixtures of the telephony tests: the local LiveKit server (morpheus/testing_livekit.py)."""

from morpheus.testing_livekit import livekit_server  # noqa: F401
