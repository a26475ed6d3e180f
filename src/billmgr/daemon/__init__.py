"""billmgrd: the process that owns the database and answers calls."""
