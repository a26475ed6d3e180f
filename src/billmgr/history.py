"""account.history: every change to a client, with when, who, from where and how.

Descriptions name fields and values, not sentences, so they read the same
in every language and never hold a secret.
"""

SECRET_FIELDS = frozenset({"passwd", "confirm"})


def record(ctx, account, description):
    """One line of ``account``'s history, written by ``ctx`` (a Context) in its transaction."""
    ctx.db.execute("INSERT INTO history (account, changedate, user, ip, action, description) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (account, ctx.clock.stamp(), ctx.actor, ctx.address, ctx.action, description))


def record_each(req, accounts, args, description):
    """The same history row for every account id the query ``accounts`` yields, in one statement."""
    req.db.execute("INSERT INTO history (account, changedate, user, ip, action, description) "
                   f"SELECT q.id, ?, ?, ?, ?, ? FROM ({accounts}) q",
                   (req.clock.stamp(), req.caller.name or "-", req.caller.address, req.spec.name, description,
                    *args))


def describe_changes(before, after):
    """``field: 'old' -> 'new'`` for every field whose value changes."""
    parts = []
    for name, new in after.items():
        old = before.get(name)
        if name in SECRET_FIELDS:
            parts.append(f"{name} changed")
        elif str(old if old is not None else "") != str(new if new is not None else ""):
            parts.append(f"{name}: {'' if old is None else old!s:.200} -> {'' if new is None else new!s:.200}")
    return "; ".join(parts)
