"""Built-in handlers, one module per section of the API documents.

Each module is bound to its functions by ``<handler type="python">`` in the
core XML, the same declaration a plugin uses.
"""
