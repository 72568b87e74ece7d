"""Writes for identity, one module per seam; keyword-only functions named <entity>_<action>.

- `sessions`: the token pairs of signed-in users (login, refresh-token rotation, logout)
- `passwords`: password rules, reset by emailed link, change
- `registration`: sign-up by emailed link, the user's own profile
- `invitations`: joining a customer's team by emailed link
- `platform`: what a platform admin does to one account
- `links`: reading the signed tokens of emailed links

Passwords are hashed (bcrypt, slow by design) before any transaction opens, so no
lock is held while hashing. Failures that must still change something (a reused
refresh token revokes its family) raise only after their transaction committed.
Callers import from the module that owns the function (`accounts.services.sessions`).
"""
