"""billmgrd backup | restore | check | migrate: the operator's database commands.

They work on the database the configuration names, not through the daemon:
backup and check run beside a serving daemon (each reads one snapshot);
restore and migrate refuse while a daemon runs.  On a terminal they draw a
progress bar on stderr; otherwise (cron, maintainer scripts) they print
nothing but their result.  On PostgreSQL, backup and restore are
PostgreSQL's own pg_dump and pg_restore (a custom-format archive), run with
the configuration's DB* settings.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys

from tqdm import tqdm

from .. import files
from ..store import backup as copies
from ..store import checks, connect, migrations, open_store
from .control import ControlError, running_pid


def _bar(desc, unit, total=None):
    return tqdm(desc=desc, unit=unit, total=total, disable=None, file=sys.stderr)


def _page_progress(bar):
    def update(done, total):
        bar.total = total
        bar.update(done - bar.n)
    return update


def _refuse_while_running(config, what):
    pid = running_pid(config)
    if pid is None:
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(config.socket) == 0:
                pid = "unknown"
    if pid is not None:
        raise ControlError(f"billmgrd is running (pid {pid}) on {config.db}; stop it before {what}")


def _schema_version(db):
    return db.execute("PRAGMA user_version").fetchone()[0]


def _size(path):
    return f"{os.path.getsize(path) / 1048576:.1f} MiB"


def _run_checks(db, version, which):
    results = []
    with _bar("check", "check", total=len(which)) as bar:
        for name, run in which:
            bar.set_description(name)
            results.append((name, list(run(db, version))))
            bar.update()
    return results


def check(path):
    """(check name, problems) for each check of the SQLite database file at ``path``."""
    db = copies.open_existing(path)
    try:
        db.execute("BEGIN")      # every check sees the same snapshot
        return _run_checks(db, _schema_version(db), checks.SQLITE_FILE + checks.BOOKS)
    except sqlite3.DatabaseError as exc:
        raise ControlError(f"{path} is not a usable database: {exc}") from None
    finally:
        db.close()


def check_postgres(config):
    """(check name, problems) for each check of the books in the configuration's PostgreSQL database."""
    import psycopg

    from ..store import postgres

    try:
        conn = postgres.connect(postgres.conninfo(config))
    except psycopg.OperationalError as exc:
        raise ControlError(f"cannot reach the PostgreSQL database: {exc}") from None
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")   # one snapshot for every check
        db = postgres.Connection(conn)
        version = db.execute("SELECT version FROM schema_version").fetchone()[0]
        return _run_checks(db, version, checks.BOOKS)
    except psycopg.Error as exc:
        raise ControlError(f"the PostgreSQL database is not usable: {exc}") from None
    finally:
        conn.close()


def backup(config, target):
    """Copy the live database to ``target``, then prove the copy sound."""
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise ControlError(f"cannot write {target}: no directory {folder}")
    with _bar("backup", "page") as bar:   # as private as the database itself
        copies.copy(config.db, target, files.mode_for(config.db), _page_progress(bar))
    db = copies.open_existing(target)
    try:
        problems = list(checks.integrity(db, None))
        version = _schema_version(db)
    finally:
        db.close()
    if problems:
        os.unlink(target)
        raise ControlError(f"the copy failed its integrity check ({problems[0]}); nothing written")
    return f"backed up {config.db} to {target} (schema version {version}, {_size(target)})"


def restore(config, source):
    """Replace the database with the backup ``source``, once it proves sound and not too new."""
    _refuse_while_running(config, "restoring")
    db = copies.open_existing(source)
    try:
        with _bar("verify", "check", total=1) as bar:
            problems = list(checks.integrity(db, None))
            bar.update()
        version = _schema_version(db)
    except sqlite3.DatabaseError as exc:
        raise ControlError(f"{source} is not a usable database ({exc}); the database is unchanged") from None
    finally:
        db.close()
    if problems:
        raise ControlError(f"{source} is damaged ({problems[0]}); the database is unchanged")
    if version == 0:
        raise ControlError(f"{source} is not a billmgr database (schema version 0)")
    if version > len(migrations.MIGRATIONS):
        raise ControlError(f"{source} has schema version {version}, newer than this billmgr "
                           f"({len(migrations.MIGRATIONS)}); upgrade billmgr first")
    staged, kept = f"{config.db}.restore", f"{config.db}.before-restore"
    files.make_dir(os.path.dirname(config.db))
    with _bar("restore", "page") as bar:
        copies.copy(source, staged, files.mode_for(config.db), _page_progress(bar))
    owner = os.stat(os.path.dirname(config.db))
    if os.geteuid() == 0:     # the daemon's user must own what root restored
        os.chown(staged, owner.st_uid, owner.st_gid)
    had_old = os.path.exists(config.db)
    copies.swap_in(staged, config.db, kept)
    lines = [f"restored {source} to {config.db} (schema version {version})"]
    if version < len(migrations.MIGRATIONS):
        lines.append(f"billmgrd migrates it to schema version {len(migrations.MIGRATIONS)} at start")
    if had_old:
        lines.append(f"the previous database is kept as {kept}")
    return lines


def _pg_tool(config, *command):
    """Run pg_dump or pg_restore on the configuration's database; its output, or a ControlError."""
    names = {"PGHOST": config.db_host, "PGPORT": config.db_port and str(config.db_port),
             "PGDATABASE": config.db_name, "PGUSER": config.db_user, "PGPASSWORD": config.db_password}
    env = {**os.environ, **{name: value for name, value in names.items() if value}}
    try:
        result = subprocess.run(command, env=env, capture_output=True)
    except FileNotFoundError:
        raise ControlError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip().splitlines()
        raise ControlError(f"{command[0]} failed: {said[-1] if said else f'exit status {result.returncode}'}")
    return result.stdout.decode(errors="replace")


def _dump_version(config, path):
    """The schema version recorded in the pg_dump archive ``path``; a ControlError if it is none of ours."""
    data = _pg_tool(config, "pg_restore", "--data-only", "--table=schema_version", "--file=-", path)
    found = re.search(r"^COPY public\.schema_version .*? FROM stdin;\n(\d+)\n", data, re.MULTILINE)
    if not found:
        raise ControlError(f"{path} is not a billmgr database (no schema version)")
    return int(found.group(1))


def backup_postgres(config, target):
    """pg_dump of the configuration's database to ``target`` (a consistent snapshot while daemons serve)."""
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise ControlError(f"cannot write {target}: no directory {folder}")
    staged = f"{target}.partial"
    old_umask = os.umask(0o077)           # as private as the books
    try:
        with _bar("backup", "archive", total=1) as bar:
            _pg_tool(config, "pg_dump", "--format=custom", f"--file={staged}")
            bar.update()
        version = _dump_version(config, staged)
    except ControlError:
        if os.path.exists(staged):
            os.unlink(staged)
        raise
    finally:
        os.umask(old_umask)
    os.replace(staged, target)
    return f"backed up PostgreSQL database {config.db_name} to {target} (schema version {version}, {_size(target)})"


def restore_postgres(config, source):
    """Replace the configuration's PostgreSQL database's contents with the pg_dump archive ``source``."""
    _refuse_while_running(config, "restoring")
    if not os.path.isfile(source):
        raise ControlError(f"{source}: no such backup file")
    try:
        version = _dump_version(config, source)
    except ControlError as exc:
        raise ControlError(f"{exc}; the database is unchanged") from None
    if version > len(migrations.MIGRATIONS):
        raise ControlError(f"{source} has schema version {version}, newer than this billmgr "
                           f"({len(migrations.MIGRATIONS)}); upgrade billmgr first")
    with _bar("restore", "archive", total=1) as bar:
        _pg_tool(config, "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "--exit-on-error", f"--dbname={config.db_name}", source)
        bar.update()
    lines = [f"restored {source} to PostgreSQL database {config.db_name} (schema version {version})"]
    if version < len(migrations.MIGRATIONS):
        lines.append(f"billmgrd migrates it to schema version {len(migrations.MIGRATIONS)} at start")
    return lines


def migrate_postgres(config):
    """Bring the configuration's PostgreSQL database to the current schema: (from version, to version)."""
    import psycopg

    from ..store import postgres

    _refuse_while_running(config, "migrating")
    try:
        with postgres.connect(postgres.conninfo(config)) as conn:
            found = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
            current = conn.execute("SELECT version FROM schema_version").fetchone()[0] if found else 0
            with _bar("migrate", "step", total=max(len(migrations.MIGRATIONS) - current, 0)) as bar:
                migrations.apply_postgres(conn, done=lambda _version: bar.update())
            return current, conn.execute("SELECT version FROM schema_version").fetchone()[0]
    except psycopg.Error as exc:
        raise ControlError(f"the PostgreSQL database is not usable: {exc}") from None
    except RuntimeError as exc:
        raise ControlError(str(exc)) from None


def migrate(config):
    """Bring the database to the current schema; returns (from version, to version)."""
    _refuse_while_running(config, "migrating")
    files.make_dir(os.path.dirname(config.db))
    files.create(config.db)
    conn = connect(config.db)
    try:
        current = _schema_version(conn)
        pending = max(len(migrations.MIGRATIONS) - current, 0)
        with _bar("migrate", "step", total=pending) as bar:
            migrations.apply(conn, done=lambda _version: bar.update())
        return current, _schema_version(conn)
    except RuntimeError as exc:
        raise ControlError(str(exc)) from None
    finally:
        conn.close()


def nightly(config, day=None, steps=()):
    """Run the nightly billing for ``day`` (default: today) now, with a progress bar per step; its Outcomes.

    The run's clock says ``day``, at the present time of day, so what it writes is dated that day.
    """
    from ..clock import Clock
    from ..jobs import nightly as job
    from ..modules import processing
    from ..registry import Registry
    from ..snapshot import Snapshot

    unknown = [step for step in steps if step not in job.STEPS]
    if unknown:
        raise ControlError(f"no step {', '.join(unknown)}: the steps are {', '.join(job.STEPS)}")
    store = open_store(config)
    bars = []
    try:
        if not store.hold("nightly"):
            raise ControlError("another billmgrd is running the nightly run on this database")
        clock = Clock()
        if day:
            clock.shift((day - clock.now().date()).days * 86400)

        def progress(step, total):
            bars.append(_bar(step, "service", total))
            return bars[-1].update
        registry = Registry.load(config.xml, config.addon)
        snapshot = Snapshot(1, config, registry, processing=processing.load(registry, config))
        return job.run(store, snapshot, clock, clock.now().date(), steps or None, progress)
    finally:
        for bar in bars:
            bar.close()
        store.close()

