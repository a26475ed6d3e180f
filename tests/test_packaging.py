"""The packages, built and used for real on this machine.

The .deb is built (lintian clean), installed with dpkg, its units verified,
billmgrd started from the installed files with the installed configuration
(no systemd needed), called through /usr/bin/mgrctl, its log rotated,
upgraded to a rebuilt higher version with the data and an edited conffile
kept, then removed and purged.  The .rpm is built (rpmlint clean) and its
file list and scripts read.  Installing needs root: CI runs as root, and
there a missing privilege or tool is a failure, never a skip.

It changes the machine (dpkg -i, a system user, /etc/billmgr), so it runs
only when asked: in CI, or with BILLMGR_TEST_PACKAGES=1.
"""

import fcntl
import os
import pwd
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from billmgr.store.checks import BOOKS, SQLITE_FILE

ROOT = Path(__file__).parents[1]
BUILD = ROOT / "packaging" / "build"
CONF = Path("/etc/billmgr/billmgr.conf")
DATA = Path("/var/lib/billmgr")
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

pytestmark = [pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("BILLMGR_TEST_PACKAGES") == "1"),
                                 reason="installs packages on this machine: set BILLMGR_TEST_PACKAGES=1 (or CI)"),
              pytest.mark.sqlite]     # the package as installed runs on its embedded SQLite file

with open(ROOT / "pyproject.toml", "rb") as _file:
    VERSION = tomllib.load(_file)["project"]["version"]


def _unusable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"the package tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module", autouse=True)
def machine():
    """Root, the tools, and this machine's package database to ourselves."""
    if os.geteuid() != 0:
        _unusable("installing a package needs root")
    if not shutil.which("dpkg") or not shutil.which("apt-get"):
        _unusable("needs a Debian-based machine (dpkg, apt-get)")
    for command, package in (("systemd-analyze", "systemd"), ("logrotate", "logrotate"),
                             ("runuser", "util-linux"), ("python3.11", "python3.11")):
        if not shutil.which(command, path=ENV["PATH"]):
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    with open("/run/lock/billmgr-package-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # another test run installs the same package
        if dpkg_status() is not None:
            pytest.fail("a billmgr package is already installed here; the test would replace it")
        had_user = has_user()
        try:
            yield
        finally:
            subprocess.run(["dpkg", "--purge", "billmgr"], env=ENV, capture_output=True)
            shutil.rmtree(DATA, ignore_errors=True)
            if not had_user and has_user():
                subprocess.run(["userdel", "billmgr"], env=ENV, capture_output=True)


def has_user():
    try:
        return pwd.getpwnam("billmgr") is not None
    except KeyError:
        return False


def dpkg_status():
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", "billmgr"],
                            capture_output=True, text=True, env=ENV)
    return result.stdout if result.returncode == 0 and "not-installed" not in result.stdout else None


def build(fmt, dist, *args):
    result = subprocess.run([sys.executable, BUILD, fmt, "--dist", dist, *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return next(dist.glob(f"*.{fmt}"))


def sh(*command, check=True, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd="/", timeout=120,
                            stdin=subprocess.DEVNULL, **kwargs)
    if check:
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result


def as_billmgr(*command):
    return sh("runuser", "-u", "billmgr", "--", *command)


def mgrctl(*args):
    return sh("/usr/bin/mgrctl", "-m", "billmgr", *args).stdout


def test_deb_installs_runs_upgrades_and_removes(tmp_path):
    deb = build("deb", tmp_path / "v1", "--lint")
    sh("dpkg", "-i", deb)
    assert dpkg_status() == f"install ok installed {VERSION}"

    # what postinst set up, without systemd
    assert has_user()
    for folder in (DATA, Path("/var/log/billmgr"), Path("/run/billmgr")):
        info = folder.stat()
        assert (pwd.getpwuid(info.st_uid).pw_name, oct(info.st_mode & 0o777)) == ("billmgr", "0o750"), folder
    assert oct(CONF.stat().st_mode & 0o777) == "0o640"
    assert (DATA / "billmgr.db").stat().st_uid == pwd.getpwnam("billmgr").pw_uid   # migrated as billmgr
    assert list(Path("/usr/lib/billmgr/lib/billmgr").glob("__pycache__/*.cpython-311.pyc"))
    for folder in ("/etc/billmgr/xml", "/usr/lib/billmgr/addon", "/usr/lib/billmgr/processing"):
        assert Path(folder).is_dir()

    # the installed units pass systemd's own checks (executables, user, man pages)
    verify = sh("systemd-analyze", "verify", "billmgrd.service", "billmgrd.socket", check=False)
    assert verify.returncode == 0 and verify.stdout + verify.stderr == "", verify.stderr
    security = sh("systemd-analyze", "security", "--offline=yes", "/lib/systemd/system/billmgrd.service")
    exposure = float(re.search(r"Overall exposure level for billmgrd.service: ([\d.]+)", security.stdout)[1])
    assert exposure <= 2.0, security.stdout

    # run from the installed files and configuration, as an admin without systemd does
    as_billmgr("/usr/sbin/billmgrd", "start", "--config", str(CONF))
    try:
        assert mgrctl("whoami").splitlines() == ["name=root", "level=admin"]
        assert mgrctl("account.edit", "email=packaged@example.com", "sok=ok").startswith("OK")
        assert "email=packaged@example.com" in mgrctl("account")
        backup = sh("/usr/sbin/billmgrd", "backup", str(tmp_path / "backup.db"))
        assert "backed up" in backup.stdout
        sh("logrotate", "--force", "--state", str(tmp_path / "logrotate.state"), "/etc/logrotate.d/billmgr")
        mgrctl("whoami", "mark=rotated")
        assert "mark=rotated" in Path("/var/log/billmgr/billmgr.log").read_text()
        assert "packaged@example.com" in Path("/var/log/billmgr/billmgr.log.1").read_text()
    finally:
        as_billmgr("/usr/sbin/billmgrd", "stop", "--config", str(CONF))

    # upgrade to a rebuilt, higher version: data and the admin's edit of the configuration stay
    CONF.write_text(CONF.read_text() + "# edited by the admin\n")
    newer = build("deb", tmp_path / "v2", "--version", f"{VERSION}+1")
    upgrade = sh("dpkg", "-i", "--force-confold", newer)
    assert "schema version" in upgrade.stdout + upgrade.stderr
    assert dpkg_status() == f"install ok installed {VERSION}+1"
    assert CONF.read_text().endswith("# edited by the admin\n")
    as_billmgr("/usr/sbin/billmgrd", "start", "--config", str(CONF))
    try:
        assert "email=packaged@example.com" in mgrctl("account")
    finally:
        as_billmgr("/usr/sbin/billmgrd", "stop", "--config", str(CONF))
    assert sh("/usr/sbin/billmgrd", "check").stdout.count(": ok") == len(SQLITE_FILE + BOOKS)

    # remove keeps the configuration and the data; purge takes the configuration and the log too
    sh("dpkg", "--remove", "billmgr")
    assert not Path("/usr/bin/mgrctl").exists() and not Path("/usr/lib/billmgr/lib").exists()
    assert CONF.exists() and (DATA / "billmgr.db").exists()
    sh("dpkg", "--purge", "billmgr")
    assert dpkg_status() is None
    assert not CONF.exists() and not Path("/var/log/billmgr").exists()
    assert (DATA / "billmgr.db").exists()      # billing records are never deleted by a package tool


def test_rpm_carries_the_files_and_scripts(tmp_path):
    rpm = build("rpm", tmp_path, "--lint")
    files = set(sh("rpm", "-qlp", rpm).stdout.split())
    assert {"/usr/bin/mgrctl", "/usr/sbin/billmgrd", "/etc/billmgr/billmgr.conf", "/etc/billmgr/xml",
            "/usr/lib/billmgr/addon", "/usr/lib/billmgr/processing", "/usr/lib/billmgr/billmgr-setup",
            "/usr/lib/systemd/system/billmgrd.service", "/usr/lib/systemd/system/billmgrd.socket",
            "/usr/lib/sysusers.d/billmgr.conf", "/usr/lib/tmpfiles.d/billmgr.conf", "/etc/logrotate.d/billmgr",
            "/usr/share/man/man8/billmgrd.8.gz", "/usr/share/man/man1/mgrctl.1.gz",
            "/usr/lib/billmgr/lib/billmgr/daemon/cli.py", "/var/lib/billmgr", "/var/log/billmgr"} <= files
    assert any(re.fullmatch(r"/usr/lib/billmgr/lib/lxml/etree\.cpython-311-.*\.so", f) for f in files)
    assert "/usr/lib/billmgr/lib/billmgr/__pycache__/config.cpython-311.pyc" in files   # rpm owns its bytecode
    config = sh("rpm", "-qp", "--configfiles", rpm).stdout.split()
    assert config == ["/etc/billmgr/billmgr.conf", "/etc/logrotate.d/billmgr"]
    scripts = sh("rpm", "-qp", "--scripts", rpm).stdout
    assert "useradd --system" in scripts and "billmgr-setup configure install" in scripts
    assert "billmgr-setup configure upgrade" in scripts and "billmgr-setup remove" in scripts
    requires = sh("rpm", "-qp", "--requires", rpm).stdout
    assert "python3.11" in requires
