"""billmgr: an open billing core compatible with the BILLmanager 6 API."""

__version__ = "0.1.0"
