"""Password hashing: salted scrypt, slow on purpose, compared in constant time."""

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2 ** 14, 8, 1


def _b64(raw):
    return base64.b64encode(raw).decode()


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


# Stands in for a missing hash: the same parameters as every stored one, a
# random digest that no password produces.
DUMMY_HASH = f"scrypt${_N}${_R}${_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(64))}"


def verify_password(password, stored):
    """Whether ``password`` matches the ``stored`` hash.

    With nothing stored (an unknown, disabled or password-less login) the same
    scrypt work runs against a dummy hash and the answer is no: a refusal
    takes as long whether or not the login exists, so timing tells no logins.
    """
    if not stored:
        _verify(password, DUMMY_HASH)
        return False
    return _verify(password, stored)


def _verify(password, stored):
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


MIN_LENGTH = 8


def check_policy(password, login=""):
    """Why ``password`` is too weak, or None: at least 8 characters, not the
    login, and at least two of letters, digits and other characters."""
    if len(password) < MIN_LENGTH:
        return "msg_error_password_short"
    if login and password.lower() == login.lower():
        return "msg_error_password_login"
    kinds = (any(c.isalpha() for c in password), any(c.isdigit() for c in password),
             any(not c.isalnum() for c in password))
    if sum(kinds) < 2:
        return "msg_error_password_simple"
    return None
