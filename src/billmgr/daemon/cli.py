"""The billmgrd command line: turns flags into a Config and acts on it."""

import logging
import sqlite3
import sys

import click

from .. import config as config_mod
from .. import files, logs
from . import control

config_option = click.option("--config", "config_path", metavar="FILE",
                             help="billmgr.conf to use (default: $BILLMGR_CONF, "
                                  "/etc/billmgr/billmgr.conf, else a local data directory).")


def _config(path):
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main():
    """billmgrd: the billmgr daemon."""
    files.restrict_umask()


@main.command()
@config_option
def run(config_path):
    """Run in the foreground (as under systemd)."""
    from ..registry import RegistryError
    from .server import Server
    from .unixsocket import SocketInUse

    config = _config(config_path)
    try:
        files.make_dir(config.data)
        logs.setup(config)
        files.tighten([config.db, f"{config.db}-wal", f"{config.db}-shm", f"{config.db}.before-restore",
                       config.log, config.pid])
        server = Server(config)
    except (RegistryError, RuntimeError, OSError, sqlite3.Error) as exc:
        _ended("cannot start", exc)
    except Exception as exc:
        _ended("cannot start", exc, config.log)
    try:
        server.run()
    except SocketInUse as exc:
        _ended("cannot listen", exc)
    except Exception as exc:
        _ended("cannot run", exc, config.log)


def _ended(what, exc, log_path=None):
    """Say why billmgrd ends, in the log and on stderr (which ``billmgrd start`` shows).

    With ``log_path``, the fault was not foreseen: the log gets its traceback.
    """
    log = logging.getLogger("billmgr.daemon")
    if log_path:
        log.exception("%s: %s", what, exc)
        raise click.ClickException(
            f"{what}: {exc.__class__.__name__}: {exc} (the traceback is in {log_path})") from None
    log.error("%s: %s", what, exc)
    raise click.ClickException(f"{what}: {exc}") from None


@main.command()
@config_option
def start(config_path):
    """Start in the background and wait until it answers."""
    config = _config(config_path)
    try:
        pid = control.start(config)
    except control.ControlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"billmgrd started (pid {pid}), socket {config.socket}")


@main.command()
@config_option
def stop(config_path):
    """Stop gracefully: in-flight requests finish first."""
    try:
        pid = control.stop(_config(config_path))
    except control.ControlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"billmgrd (pid {pid}) stopped")


@main.command()
@config_option
def status(config_path):
    """Show pid, uptime, memory, connections, database and registry size."""
    try:
        lines = control.status(_config(config_path))
    except (control.ControlError, control.Unreachable) as exc:
        click.echo(str(exc), err=True)
        sys.exit(3)
    for name, value in lines:
        click.echo(f"{name}: {value}")


@main.command()
@config_option
def reload(config_path):
    """Re-read configuration and XML; a broken file keeps the old ones."""
    try:
        control.reload(_config(config_path))
    except (control.ControlError, control.Unreachable) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("reloaded")


@main.command()
@config_option
@click.argument("when", metavar="DURATION|DATE")
def clock(config_path, when):
    """Move the running daemon's test clock forward (only with Option TestClock).

    DURATION is like 1d, 2h30m or 90s; DATE is YYYY-MM-DD or "YYYY-MM-DD HH:MM:SS" (UTC), not before
    the daemon's time.  Prints the daemon's new time.  Jobs and retries that become due run at once.
    """
    try:
        click.echo(control.clock(_config(config_path), when))
    except (control.ControlError, control.Unreachable) as exc:
        raise click.ClickException(str(exc)) from None


def _admin(action, *args):
    """Run an admin command; its expected failures become one line and exit 1."""
    try:
        return action(*args)
    except (control.ControlError, OSError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@config_option
@click.argument("target", metavar="FILE", type=click.Path(dir_okay=False))
def backup(config_path, target):
    """Copy the database to FILE, even while billmgrd serves.

    The copy is one consistent snapshot, mode 0600, checked before it is kept
    (on PostgreSQL: a pg_dump archive in its custom format).
    """
    from . import admin

    config = _config(config_path)
    click.echo(_admin(admin.backup_postgres if config.postgresql else admin.backup, config, target))


@main.command()
@config_option
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False))
def restore(config_path, source):
    """Replace the database with the backup FILE.

    billmgrd must be stopped.  FILE must pass the integrity check and not be
    newer than this billmgr; the replaced database is kept beside it.  On
    PostgreSQL FILE is a backup's pg_dump archive, restored by pg_restore in
    one transaction.
    """
    from . import admin

    config = _config(config_path)
    for line in _admin(admin.restore_postgres if config.postgresql else admin.restore, config, source):
        click.echo(line)


@main.command()
@config_option
@click.argument("path", metavar="[FILE]", required=False, type=click.Path(dir_okay=False))
def check(config_path, path):
    """Check the database, or the backup FILE.

    Prints each check with ok or its problems; exit status 1 on any problem.
    """
    from . import admin

    failed = False
    config = None if path else _config(config_path)
    found = (_admin(admin.check_postgres, config) if config and config.postgresql
             else _admin(admin.check, path or config.db))
    for name, problems in found:
        click.echo(f"{name}: {f'{len(problems)} problem(s)' if problems else 'ok'}")
        for problem in problems:
            click.echo(f"  {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


@main.command()
@config_option
def migrate(config_path):
    """Upgrade the database to the current schema.

    billmgrd must be stopped (it also migrates at start).
    """
    from . import admin

    config = _config(config_path)
    old, new = _admin(admin.migrate_postgres if config.postgresql else admin.migrate, config)
    click.echo(f"schema version {new}" + (f" (migrated from {old})" if old != new else ", up to date"))


@main.command()
@config_option
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day to run for (default: today).")
@click.option("--step", "steps", multiple=True, metavar="STEP",
              help="Run only STEP (repeatable): billdaily, collect, statistics, renew, suspend, delete, notify; "
                   "default: all, in order.")
def nightly(config_path, day, steps):
    """Run the nightly billing now: daily charges, usage, auto-renewals, suspensions, deletions, notices.

    Safe beside a running billmgrd and safe to repeat: each service is done once per day.
    """
    from . import admin

    config = _config(config_path)
    for outcome in _admin(admin.nightly, config, day and day.date(), steps):
        click.echo(f"{outcome.step}: {outcome.done} done, {outcome.skipped} skipped, {outcome.failed} failed")


if __name__ == "__main__":
    main()
