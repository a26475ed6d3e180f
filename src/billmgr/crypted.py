"""Crypted values: module connection passwords and the params a module saves with ``crypted``.

They are kept encrypted with a Fernet key (AES with an HMAC, from the well-kept ``cryptography``
package) that lives in ``DATA/secret.key``, mode 0600, made the first time a value is encrypted.  A
copy of the database alone does not give the secrets away; the key file must go with backups that
are to be restored elsewhere.
"""

import os
import threading

from cryptography.fernet import Fernet, InvalidToken

from . import files

KEY_FILE = "secret.key"
_lock = threading.Lock()
_keys = {}      # key file path -> Fernet


def _fernet(config):
    path = os.path.join(config.data, KEY_FILE)
    with _lock:
        if path not in _keys:
            if not os.path.exists(path):
                files.make_dir(config.data)
                fd = files.open_fd(path, os.O_WRONLY | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as key_file:
                    key_file.write(Fernet.generate_key())
            with open(path, "rb") as key_file:
                _keys[path] = Fernet(key_file.read().strip())
        return _keys[path]


def encrypt(config, text):
    return _fernet(config).encrypt(text.encode()).decode()


def decrypt(config, token):
    """The clear text of ``token``; '' when it was made with another key (a database moved without it)."""
    try:
        return _fernet(config).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
