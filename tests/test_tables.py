from tgnrank.tables import text_table


def test_first_column_left_the_others_right_with_a_rule_under_the_header():
    assert text_table(["name", "value"], [["a", "1.5"], ["longer", "22"]]) == [
        "name    value",
        "-------------",
        "a         1.5",
        "longer     22",
    ]


def test_alignment_gap_indent_and_minimum_width():
    lines = text_table(["k", "v"], [["x", "1"]], align="rl", gap=3, indent=2, min_width=3)
    assert lines == ["    k   v", "  -------", "    x   1"]


def test_no_trailing_spaces_after_a_left_aligned_last_column():
    assert text_table(["a", "b"], [["1", ""]], align="ll")[2] == "1"
