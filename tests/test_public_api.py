"""The public surface is explicit: what a check author and an integrator may import."""

import types

import auditor
import auditor.plugin


def test_package_exports_exactly_its_public_names():
    # Submodules appear as attributes once imported; they are reached by their dotted names, not exported.
    public = {name for name, value in vars(auditor).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert set(auditor.__all__) == public | {"__version__"}


def test_plugin_module_is_what_a_check_author_needs():
    assert {"check", "Verdict", "Severity", "Platform", "ControlRef", "TargetKind"} <= set(auditor.plugin.__all__)
    for name in auditor.plugin.__all__:
        assert hasattr(auditor.plugin, name)
