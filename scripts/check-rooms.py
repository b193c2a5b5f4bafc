#!/usr/bin/env python3
"""The host library's rooms and floors (docs/ARCHITECTURE.md): a room of
host/src imports only rooms on a lower floor, so no import circle can form;
only the composition root (app) sits above them all, and nothing but the
binary uses the operator's room. Reads `crate::<room>` paths in the sources,
tests included. Exits 1 naming every import that breaks the rule."""

import pathlib
import re
import sys

# A room is a top-level module of host/src, or one of its modules named here
# on a floor of its own (`registry::load` sits above `registry`).
FLOORS = {
    "config": 0, "metrics": 0, "registry": 0, "rollout::policy": 0,
    "error": 1, "rollout::config": 1,
    "registry::load": 2,
    "rollout": 3,
    "services": 4,
    "dispatch": 5,
    "ops": 6, "intake": 6,
    "app": 7,
}
# The operator's CLI code: may use rooms up to this floor; no room may use it.
OPERATOR_MAX = 3

src = pathlib.Path(__file__).resolve().parent.parent / "host" / "src"
pattern = re.compile(r"\bcrate::([a-z_]+)(?:::([a-z_]+))?")
ROOTS = {name.split("::")[0] for name in FLOORS} | {"operator"}


def room_of(first, second):
    """The room `first[::second]` belongs to: the longer name when it has a floor."""
    if second and f"{first}::{second}" in FLOORS:
        return f"{first}::{second}"
    return first
bad = []
edges = set()
for path in sorted(src.rglob("*.rs")):
    rel = path.relative_to(src)
    parts = [p.removesuffix(".rs") for p in rel.parts]
    if parts == ["lib"]:
        continue
    room = room_of(parts[0], parts[1] if len(parts) > 1 and parts[1] != "mod" else None)
    if parts[0] not in ROOTS:
        bad.append(f"{rel}: room `{parts[0]}` has no floor in scripts/check-rooms.py")
        continue
    text = path.read_text(encoding="utf-8")
    for first, second in sorted(set(pattern.findall(text))):
        if first not in ROOTS:
            continue  # an item the crate root re-exports (`crate::run`), not a room
        used = room_of(first, second)
        if used == room:
            continue
        edges.add((room, used))
        if used == "operator":
            bad.append(f"{rel}: uses `operator`, which only the binary may use")
        elif room == "operator":
            if FLOORS.get(used, 99) > OPERATOR_MAX:
                bad.append(f"{rel}: the operator's room uses `{used}` (floor {FLOORS.get(used)}), above floor {OPERATOR_MAX}")
        elif room != "operator" and FLOORS[used] >= FLOORS[room]:
            bad.append(f"{rel}: `{room}` (floor {FLOORS[room]}) uses `{used}` (floor {FLOORS[used]})")
for line in bad:
    print(f"check-rooms: {line}", file=sys.stderr)
if bad:
    sys.exit(1)
print(f"check-rooms: {len(edges)} imports between rooms of host/src, each to a lower floor")
