"""Modules: the external programs billing works through.  Processing modules: loading and features
(processing), running their commands after commit (operations) and the state moves their callbacks make
(callbacks); payment modules (payment) and their CGI scripts (cgi)."""
