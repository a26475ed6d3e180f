"""Every function speaks both languages: a title, and a label for every column and field."""

import pytest

from billmgr.registry import LANGS, Registry

REGISTRY = Registry.load()


@pytest.mark.parametrize("lang", LANGS)
def test_every_function_has_every_label(lang):
    missing = []
    for name, spec in sorted(REGISTRY.functions.items()):
        own = REGISTRY.messages.get(lang, {}).get(name, {})
        for key in ["title", *spec.column_names, *(f.name for f in spec.fields), *(f.name for f in spec.filters)]:
            if key not in own:
                missing.append(f"{name}:{key}")
    assert missing == []
