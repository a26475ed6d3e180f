"""MgrError: the one vocabulary of errors a caller can see.

An error carries a type (see COMPAT.md), the object it concerns and the
offending value.  Its human text is looked up at render time from the
``msg_error_<type>`` message (or a more specific one) in the caller's language.
"""

TYPES = ("auth", "access", "missed", "empty", "value", "exists", "func", "plugin",
         "busy", "internal", "balance", "suspended")


class MgrError(Exception):
    def __init__(self, type, object="", value="", message=None, detail="", text=""):
        super().__init__(f"{type}({object}): {value}")
        self.type = type
        self.object = object
        self.value = "" if value is None else str(value)
        self.message = message or f"msg_error_{type}"
        self.detail = detail  # a plain-text explanation when no message fits (plugins)
        self.text = text      # the whole message, already written (by a plugin's error document)


def auth(object="", value=""):
    return MgrError("auth", object, value)


def access(function):
    return MgrError("access", function, function)


def missed(kind, value):
    return MgrError("missed", kind, value)


def empty(param):
    return MgrError("empty", param)


def value(param, given, message=None):
    return MgrError("value", param, given, message)


def exists(kind, given=""):
    return MgrError("exists", kind, given)


def busy():
    """The database had no turn for the call's write in time; nothing was changed, so it may be retried."""
    return MgrError("busy", "database")


def internal():
    return MgrError("internal")
