"""Test support: doubles and helpers that tests import and production code never does.

`testsupport.livekit` is the local LiveKit Twirp server; `testsupport.api` has the
envelope assertions and authenticated clients. The package is left out of the Docker
image (.dockerignore) and a test asserts no production module imports it.
"""
