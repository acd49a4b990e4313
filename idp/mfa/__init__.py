"""Second factors and proof of an email address, with no Flask: plain values in and out.

``codes``: one-time codes sent by email, text message or voice call (NIST SP 800-63B).
"""
