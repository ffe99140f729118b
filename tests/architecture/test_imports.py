"""Dependencies point inward (STYLE.md): checked by reading every module's imports, no code runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())
FRAMEWORKS = ("sqlalchemy", "fastapi", "starlette", "faststream", "aio_pika", "aiormq", "httpx", "asyncpg", "boto3")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(service: str, layer: str | None = None) -> list[Path]:
    base = ROOT / "services" / service / "src" / f"wiser_{service}"
    folder = base / layer if layer else base
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


@pytest.mark.parametrize("service", SERVICES)
def test_domain_modules_import_no_framework_and_no_io(service: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports(path) if i.split(".")[0] in FRAMEWORKS)
        for path in modules(service, "domain")
    }
    assert not {k: v for k, v in offenders.items() if v}


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = {f"wiser_{s}" for s in SERVICES if s != service}
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports(path) if i.split(".")[0] in others)
        for path in modules(service)
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_the_shared_libraries_import_no_service() -> None:
    services = {f"wiser_{s}" for s in SERVICES}
    for lib in ("contracts", "servicekit", "x12"):
        for path in sorted((ROOT / "libs" / lib / "src").rglob("*.py")):
            assert not {i for i in imports(path) if i.split(".")[0] in services}, path


def test_the_check_sees_what_it_checks() -> None:
    assert {"intake", "validation", "gateway"} <= set(SERVICES)
    assert modules("intake", "domain") and modules("validation", "domain")
    assert "sqlalchemy" in imports(ROOT / "services" / "intake" / "src" / "wiser_intake" / "adapters" / "tables.py")


@pytest.mark.parametrize("service", SERVICES)
def test_use_cases_speak_no_http(service: str) -> None:
    http = ("fastapi", "starlette", "wiser_servicekit.problems")
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports(path) if i.startswith(http))
        for path in modules(service, "usecases")
    }
    assert not {k: v for k, v in offenders.items() if v}


# The read side may read a service's tables directly (views, reports, paging); everything else in usecases/
# goes through the unit of work and its repositories (usecases/ports.py), so it runs against fakes too.
READ_SIDE = {"queries.py", "views.py", "report.py", "cursor.py"}  # and any `*_views.py`
NOT_YET_ON_A_UNIT_OF_WORK = {"gateway": {"accounts.py", "audit.py"}}  # its sign-in and audit log: to convert


def absolute_imports(path: Path, package: str) -> set[str]:
    """Imports with relative ones resolved (`from ..adapters.tables import x` -> `wiser_svc.adapters.tables`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(ROOT / "services" / package.removeprefix("wiser_") / "src").with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module or "")
            else:
                base = list(here[: len(here) - node.level])
                found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_use_cases_reach_their_tables_only_through_the_unit_of_work(service: str) -> None:
    package = f"wiser_{service}"
    exempt = READ_SIDE | NOT_YET_ON_A_UNIT_OF_WORK.get(service, set())
    direct = ("sqlalchemy", "asyncpg", f"{package}.adapters.tables", f"{package}.adapters.repositories")
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in absolute_imports(path, package) if i.startswith(direct))
        for path in modules(service, "usecases")
        if path.name not in exempt and not path.name.endswith("_views.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_the_unit_of_work_check_sees_a_table_import() -> None:
    path = ROOT / "services" / "intake" / "src" / "wiser_intake" / "usecases" / "cursor.py"
    assert "wiser_intake.adapters.tables" in absolute_imports(path, "wiser_intake")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_with_ports_has_in_memory_fakes_for_its_unit_tests(service: str) -> None:
    base = ROOT / "services" / service
    if (base / "src" / f"wiser_{service}" / "usecases" / "ports.py").exists():
        assert (base / "tests" / "unit" / "fakes.py").exists()
