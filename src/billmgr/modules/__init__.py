"""Processing modules: loading and features (processing), running their commands after commit
(operations), and the state moves their callbacks make (callbacks)."""
