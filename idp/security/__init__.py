"""Passwords, secret digests, key encryption, security headers and the audit log."""
