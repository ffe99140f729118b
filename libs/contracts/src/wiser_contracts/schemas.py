"""JSON Schema snapshots of every message, and the breaking-change check.

python -m wiser_contracts.schemas write   # refresh libs/contracts/schemas/
python -m wiser_contracts.schemas check   # fail on a breaking change
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .envelope import Message
from .messages import ALL_MESSAGES

SNAPSHOT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def snapshot_name(message: type[Message]) -> str:
    return f"{message.TYPE}.v{message.SCHEMA_VERSION}.json"


def current_schemas() -> dict[str, dict[str, Any]]:
    return {snapshot_name(msg): msg.model_json_schema(mode="serialization") for msg in ALL_MESSAGES}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(schema, schema["$defs"][ref.split("/")[-1]])
    return node


def _types(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    node = _resolve(schema, node)
    if "anyOf" in node:
        out: set[str] = set()
        for alt in node["anyOf"]:
            out |= _types(schema, alt)
        return out
    if "enum" in node:
        return {f"enum:{v}" for v in node["enum"]}
    if "const" in node:
        return {f"enum:{node['const']}"}
    return {str(node.get("type", "any"))}


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What in `new` breaks consumers or producers written against `old`."""
    problems: list[str] = []

    def walk(o: dict[str, Any], n: dict[str, Any], where: str) -> None:
        o, n = _resolve(old, o), _resolve(new, n)
        o_props, n_props = o.get("properties", {}), n.get("properties", {})
        for name, o_prop in o_props.items():
            here = f"{where}.{name}" if where else name
            if name not in n_props:
                problems.append(f"{here}: removed")
                continue
            o_types, n_types = _types(old, o_prop), _types(new, n_props[name])
            if not o_types <= n_types:
                problems.append(f"{here}: type narrowed from {sorted(o_types)} to {sorted(n_types)}")
            walk(o_prop, n_props[name], here)
        for name in set(n.get("required", [])) - set(o.get("required", [])):
            here = f"{where}.{name}" if where else name
            problems.append(f"{here}: newly required")
        if "items" in o and "items" in n:
            walk(o["items"], n["items"], f"{where}[]")

    walk(old, new, path)
    return problems


def check(snapshot_dir: Path = SNAPSHOT_DIR) -> list[str]:
    """Compare the code's schemas with the committed snapshots; return every problem."""
    problems: list[str] = []
    current = current_schemas()
    for path in sorted(snapshot_dir.glob("*.json")):
        committed = json.loads(path.read_text())
        if path.name not in current:
            problems.append(f"{path.name}: message removed or its major version changed without a v-next")
            continue
        problems += [f"{path.name}: {p}" for p in breaking_changes(committed, current[path.name])]
    for name in current:
        if not (snapshot_dir / name).exists():
            problems.append(f"{name}: no committed snapshot (run `make schemas`)")
    return problems


def write(snapshot_dir: Path = SNAPSHOT_DIR) -> None:
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in current_schemas().items():
        (snapshot_dir / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"]:
        write()
        return 0
    problems = check()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
