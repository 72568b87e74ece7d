"""Fixtures of the calls tests. `livekit_server` (morpheus/testing_livekit.py) is re-exported
here; other apps import it into their own conftest the same way."""

from morpheus.testing_livekit import livekit_server  # noqa: F401
