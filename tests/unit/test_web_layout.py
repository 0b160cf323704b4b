"""The graph layout: columns by dependency level, groups as bands, short edges."""

from __future__ import annotations

from partita.web.layout import layout


def test_columns_are_dependency_levels_and_groups_are_bands() -> None:
    nodes = [("a", "g1"), ("b", "g1"), ("c", "g2"), ("d", "g2")]
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    placed = layout(nodes, edges)
    assert placed.levels == 3
    assert placed.positions == {"a": (0, 0), "b": (1, 0), "c": (1, 0), "d": (2, 0)}
    assert placed.groups == (("g1", 1), ("g2", 1))
    assert placed.to_json()["positions"]["d"] == [2, 0]


def test_an_asset_goes_right_of_its_deepest_upstream() -> None:
    nodes = [("a", "g"), ("b", "g"), ("c", "g")]
    placed = layout(nodes, [("a", "b"), ("b", "c"), ("a", "c")])
    assert [placed.positions[k][0] for k in "abc"] == [0, 1, 2]


def test_rows_follow_what_each_asset_reads() -> None:
    # two chains crossing over: the readers line up with what they read
    nodes = [("x", "g"), ("y", "g"), ("reads_y", "g"), ("reads_x", "g")]
    placed = layout(nodes, [("x", "reads_x"), ("y", "reads_y")])
    assert placed.positions["reads_x"][1] == placed.positions["x"][1]
    assert placed.positions["reads_y"][1] == placed.positions["y"][1]
    assert placed.groups == (("g", 2),)


def test_empty_graph() -> None:
    placed = layout([], [])
    assert placed.levels == 0 and placed.groups == () and placed.positions == {}
