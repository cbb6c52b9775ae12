"""docs/python-api.md runs: its Python blocks, in order, in one namespace, in a scratch folder, print nothing
but what they print themselves."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_walk_through_runs_in_order(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
    printed = capsys.readouterr()
    assert printed.err == ""
    assert re.fullmatch(r"\d+ events, \d+ nodes\n\w+ (True|False)\n\d+ True\n", printed.out), printed.out
    assert (tmp_path / "saved_models" / "nb-tiny.pth").exists()
    assert list(namespace["recommendations"]["rank"]) == [1, 2, 3, 4, 5]
    assert namespace["why"].summary["rank"] == 1 and len(namespace["explained"]) == 3
    assert list(namespace["scoped"].parts) == ["known", "new_companies", "all"] and len(namespace["newcomer"]) == 3
    assert {"nb-tiny", "ppr"} <= {stage for stage, _, _ in namespace["steps"]}


def test_the_functions_the_page_lists_are_the_package_api():
    import tgnrank

    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(\w+)\(", text, flags=re.MULTILINE))
    assert listed == {"generate_synthetic", "import_crunchbase", "load_dataset", "train_model", "load_model",
                      "diagnose", "fuse", "recommend", "explain", "diagnose_scope", "recommend_new_company"}
    assert listed <= set(tgnrank.__all__)
