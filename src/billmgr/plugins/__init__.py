"""Plugin code that runs outside the daemon's process: cgi and xml handlers.

``external`` binds a handler name to an executable in the addon directory
and runs it for a request; ``environment`` is what it is told,
``process`` runs it within a time and size limit, and ``document`` turns
what it prints into a Doc every output format can render.
"""
