"""The public surface is explicit: what a check author and an integrator may import."""

import auditor
import auditor.plugin


def test_package_exports_exactly_its_public_names():
    public = {name for name in vars(auditor) if not name.startswith("_")} - {
        "models", "errors", "transports", "evidence", "collectors", "plugin", "registry", "profile", "yamlfile",
        "inventory", "runner", "report", "cli", "console",
    }
    assert set(auditor.__all__) == public | {"__version__"}


def test_plugin_module_is_what_a_check_author_needs():
    assert {"check", "Verdict", "Severity", "Platform", "ControlRef", "TargetKind"} <= set(auditor.plugin.__all__)
    for name in auditor.plugin.__all__:
        assert hasattr(auditor.plugin, name)
