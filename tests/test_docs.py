"""What users rely on is documented: every setting and every function."""

from pathlib import Path

from billmgr import config
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
