"""What users rely on is documented: every setting, function, command and masked secret."""

from pathlib import Path

from billmgr import config
from billmgr.daemon.cli import main as billmgrd
from billmgr.dispatch import SECRET_PARAMS
from billmgr.registry import Registry

ROOT = Path(__file__).parents[1]


def test_every_setting_is_documented_and_the_sample_config_parses():
    sample = ROOT / "etc" / "billmgr.conf"
    config.parse(sample.read_text(), str(sample))
    operations = (ROOT / "docs" / "operations.md").read_text()
    annotated = sample.read_text()
    for name in config.PATHS:
        assert f"path {name} " in operations and f"path {name} " in annotated, name
    for name in list(config.SETTINGS) + list(config.OPTIONS):
        assert name in operations and name in annotated, name


def test_every_function_is_documented():
    reference = (ROOT / "docs" / "functions.md").read_text()
    for name in Registry.load().functions:
        assert f"## {name} " in reference, name


def test_every_billmgrd_command_and_masked_parameter_is_documented():
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in billmgrd.commands:
        assert f"`billmgrd {name}" in operations, name
    for name in SECRET_PARAMS:
        assert f"`{name}`" in operations, name
