"""mgrctl: the command-line front end.  Standard library only on the call path."""
