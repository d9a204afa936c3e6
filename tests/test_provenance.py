import json

from mesoscale import provenance


def test_collect_records_what_reproduction_needs():
    rec = provenance.collect(parameters={"n": 10, "seed": 3, "null_seed": 7}, notebook="x")
    assert rec["parameters"] == {"n": 10, "seed": 3, "null_seed": 7}
    assert rec["seeds"] == {"seed": 3, "null_seed": 7}
    assert rec["notebook"] == "x"
    for pkg in ("numpy", "networkx", "bctpy", "torch", "mesoscale"):
        assert pkg in rec["packages"], pkg
    assert set(rec["git"]) == {"commit", "dirty", "branch"}
    assert rec["device"]["cpu_count"] >= 1
    json.dumps(rec)  # serialisable, so it can live in notebook metadata


def test_git_state_outside_a_repository(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None, "branch": None}


def test_markdown_lists_parameters_and_escapes_pipes():
    rec = provenance.collect(parameters={"label": "a|b", "seed": 1})
    md = provenance.to_markdown(rec)
    assert md.startswith("## Provenance")
    assert "`'a\\|b'`" in md
    assert "| `seed` | `1` |" in md
