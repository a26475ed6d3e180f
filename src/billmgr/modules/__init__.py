"""Modules: the external programs billing works through (payment modules and their CGI scripts)."""
