"""`make test` collects every app's tests: pytest's `testpaths` is an explicit list, so a
new app whose folder is missing from it would have its whole suite silently skipped in CI
(campaigns, analytics and evaluations once were)."""

import configparser
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_every_project_app_with_tests_is_in_testpaths():
    config = configparser.ConfigParser()
    config.read(ROOT / "pytest.ini")
    testpaths = set(config["pytest"]["testpaths"].split())
    project_apps = {
        Path(app.path).name
        for app in apps.get_app_configs()
        if Path(app.path).parent == ROOT and (Path(app.path) / "tests").is_dir()
    }
    assert project_apps, "no project app found: the check itself is broken"
    assert project_apps <= testpaths, f"add to pytest.ini testpaths: {sorted(project_apps - testpaths)}"
    assert "tests" in testpaths  # the deployment tests at the top level
