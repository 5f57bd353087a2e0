"""The picture of the Pay session state machine, laid out from ``machine.TRANSITIONS``, and
the path one session took through it. Pure: no I/O, no markup (the template draws it).

Layout: left to right. The start point is column 0; every other state sits in the column of
its longest path from the start, and the states nothing leaves (the final ones) share the
last column. The fullest column is spread evenly; the others sit level with the states they
connect to. An edge that jumps over a column bends around the states in it. A transition from
a state to itself is a loop above the state. Several events between the same two states share
one edge, labelled with all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from emulator.domain.machine import TRANSITIONS, EventKind, State

__all__ = ["START", "Diagram", "DiagramEdge", "DiagramNode", "Step", "layout", "walk"]

START = "start"  # the node before the session exists

NODE_WIDTH = 116
NODE_HEIGHT = 34
COLUMN_GAP = 210  # between the centres of two columns
ROW_GAP = 86  # between the centres of two states in a column
MARGIN = 24
LOOP_HEIGHT = 46
CHAR_WIDTH = 6.4  # of the 11 px label font, for the picture's bounds
CLEARANCE = 30  # how close an edge may pass a state it does not touch


@dataclass(frozen=True, slots=True)
class DiagramNode:
    key: str  # a State value, or START
    x: float  # centre
    y: float

    @property
    def left(self) -> float:
        return self.x - (6 if self.key == START else NODE_WIDTH / 2)

    @property
    def right(self) -> float:
        return self.x + (6 if self.key == START else NODE_WIDTH / 2)


@dataclass(frozen=True, slots=True)
class DiagramEdge:
    key: str  # "source>target"
    source: str
    target: str
    events: tuple[str, ...]
    path: str  # SVG path data
    label_x: float
    label_y: float

    @property
    def label(self) -> str:
        return " · ".join(self.events)

    @property
    def loop(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class Diagram:
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]
    view_box: str
    width: float
    height: float
    node_width: float = NODE_WIDTH
    node_height: float = NODE_HEIGHT

    def edge(self, source: str, target: str) -> DiagramEdge | None:
        key = f"{source}>{target}"
        return next((e for e in self.edges if e.key == key), None)


def _key(state: State | None) -> str:
    return START if state is None else state.value


@cache
def layout(
    transitions: tuple[tuple[State | None, EventKind, State], ...] = TRANSITIONS,
) -> Diagram:
    """Where every state and transition of ``transitions`` is drawn."""
    order: list[str] = [START]
    grouped: dict[tuple[str, str], list[str]] = {}
    for source, event, target in transitions:
        for key in (_key(source), _key(target)):
            if key not in order:
                order.append(key)
        grouped.setdefault((_key(source), _key(target)), []).append(event.value)
    for state in State:  # a state no transition reaches yet is still drawn
        if state.value not in order:
            order.append(state.value)
    links = [(s, t) for (s, t) in grouped if s != t]
    successors = {key: [t for s, t in links if s == key] for key in order}
    predecessors = {key: [s for s, t in links if t == key] for key in order}

    # Columns: the longest path from the start (the table has no cycle but self-loops).
    column = dict.fromkeys(order, 0)
    for _ in range(len(order)):
        changed = False
        for before, after in links:
            if column[after] < column[before] + 1:
                column[after] = column[before] + 1
                changed = True
        if not changed:
            break
    last = max(column.values())
    for key in order:
        if key != START and not successors[key]:
            column[key] = last
    columns: dict[int, list[str]] = {}
    for key in order:
        columns.setdefault(column[key], []).append(key)

    # Rows: the fullest column evenly spread; the others, nearest first, level with the
    # mean of their placed neighbours, pushed apart when too close.
    fullest = max(columns, key=lambda c: (len(columns[c]), c))
    y: dict[str, float] = {key: i * ROW_GAP for i, key in enumerate(columns[fullest])}
    for number in sorted(columns, key=lambda c: (abs(c - fullest), -c)):
        if number == fullest:
            continue
        wanted: list[tuple[float, str]] = []
        for key in columns[number]:
            placed = [y[n] for n in (*successors[key], *predecessors[key]) if n in y]
            wanted.append((sum(placed) / len(placed) if placed else 0.0, key))
        wanted.sort(key=lambda item: item[0])
        previous: float | None = None
        for position, key in wanted:
            if previous is not None and position < previous + ROW_GAP:
                position = previous + ROW_GAP
            y[key] = previous = position

    nodes = {key: DiagramNode(key, column[key] * COLUMN_GAP, y[key]) for key in order}
    if nodes[START].x == 0:  # the start point needs less room than a state
        nodes[START] = DiagramNode(START, COLUMN_GAP * 0.35, y[START])

    edges = [
        _edge(nodes, source, target, tuple(events), column)
        for (source, target), events in grouped.items()
    ]
    return _framed(tuple(nodes[key] for key in order), edges)


def _edge(
    nodes: dict[str, DiagramNode],
    source: str,
    target: str,
    events: tuple[str, ...],
    column: dict[str, int],
) -> DiagramEdge:
    a, b = nodes[source], nodes[target]
    key = f"{source}>{target}"
    if source == target:
        top = a.y - NODE_HEIGHT / 2
        path = (
            f"M {a.x - 22:.1f} {top:.1f} C {a.x - 34:.1f} {top - LOOP_HEIGHT:.1f},"
            f" {a.x + 34:.1f} {top - LOOP_HEIGHT:.1f}, {a.x + 22:.1f} {top:.1f}"
        )
        return DiagramEdge(key, source, target, events, path, a.x, top - LOOP_HEIGHT + 4)
    x1, y1 = a.right, a.y
    x2, y2 = b.left - 2, b.y
    # States of the columns in between that the straight line would graze.
    between = [
        n
        for n in nodes.values()
        if column[source] < column[n.key] < column[target] and n.key not in (source, target)
    ]
    bend: tuple[float, float] | None = None
    for n in between:
        t = (n.x - x1) / (x2 - x1) if x2 != x1 else 0.5
        line_y = y1 + (y2 - y1) * t
        if abs(line_y - n.y) < NODE_HEIGHT / 2 + CLEARANCE:
            below = line_y >= n.y
            offset = NODE_HEIGHT / 2 + CLEARANCE
            bend = (n.x, n.y + offset if below else n.y - offset)
            break
    if bend is not None:
        bx, by = bend
        path = (
            f"M {x1:.1f} {y1:.1f} C {x1 + 60:.1f} {y1:.1f}, {bx - 80:.1f} {by:.1f},"
            f" {bx:.1f} {by:.1f} S {x2 - 60:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"
        )
        return DiagramEdge(key, source, target, events, path, bx, by - 7)
    mid = (x1 + x2) / 2
    path = f"M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"
    label_y = (y1 + y2) / 2 + (-6 if y2 == y1 else 0)
    return DiagramEdge(key, source, target, events, path, mid, label_y - 4)


def _framed(nodes: tuple[DiagramNode, ...], edges: list[DiagramEdge]) -> Diagram:
    """The picture's bounds: every state, loop and label, with a margin."""
    xs: list[float] = []
    ys: list[float] = []
    for n in nodes:
        xs += [n.left, n.right]
        ys += [n.y - NODE_HEIGHT / 2, n.y + NODE_HEIGHT / 2]
    for e in edges:
        half = len(e.label) * CHAR_WIDTH / 2
        xs += [e.label_x - half, e.label_x + half]
        ys += [e.label_y - 12, e.label_y + 4]
    left, top = min(xs) - MARGIN, min(ys) - MARGIN
    width, height = max(xs) - left + MARGIN, max(ys) - top + MARGIN
    return Diagram(
        nodes=nodes,
        edges=tuple(edges),
        view_box=f"{left:.0f} {top:.0f} {width:.0f} {height:.0f}",
        width=round(width),
        height=round(height),
    )


# --- one session's path -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a session: where it went from and to, and when."""

    number: int
    event: str
    source: str
    target: str
    at_ms: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[Step, ...]
    visited: frozenset[str]
    taken: dict[str, list[Step]] = field(default_factory=dict)  # edge key -> its steps

    @property
    def last(self) -> str:
        return self.steps[-1].target if self.steps else START


def walk(
    events: Iterable[tuple[str, int, str]],
    transitions: Sequence[tuple[State | None, EventKind, State]] = TRANSITIONS,
) -> Path:
    """The path of a session through the machine, from its events in order: (event name,
    time in ms, detail). An event the table does not know from the current state keeps the
    state (it is still listed)."""
    table = {(_key(s), e.value): _key(t) for s, e, t in transitions}
    state = START
    steps: list[Step] = []
    taken: dict[str, list[Step]] = {}
    visited = {START}
    for number, (event, at_ms, detail) in enumerate(events, start=1):
        target = table.get((state, event), state)
        step = Step(number, event, state, target, at_ms, detail)
        steps.append(step)
        if (state, event) in table:
            taken.setdefault(f"{state}>{target}", []).append(step)
        visited.add(target)
        state = target
    return Path(tuple(steps), frozenset(visited), taken)
