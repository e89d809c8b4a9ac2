"""The package's imports go one way, down the layers of docs/reference.md (Layers), without
cycles; that table and ``RANKS`` below are one table.

Parsed from the source (no import runs): every ``import``/``from ... import`` of a
``chainer_vae`` or ``midi`` module anywhere in a file, also inside functions.
"""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Lower rank = lower layer; a module may import a module of a lower rank, or of its own
# package (without cycles). chainer_vae itself only installs the compatibility shim.
RANKS = {
    "chainer_vae._compat": 0, "chainer_vae.errors": 0,
    "chainer_vae": 1, "chainer_vae.files": 1, "chainer_vae.resources": 1,
    "chainer_vae.pretrained": 1,
    "chainer_vae.config": 2,
    "chainer_vae.model": 3, "chainer_vae.data": 3,
    "chainer_vae.runs": 4, "chainer_vae.config_resolve": 4,
    "chainer_vae.training.distributed": 5,
    "chainer_vae.inference": 6,
    "chainer_vae.training": 7,
    "chainer_vae.outputs": 8,
    "chainer_vae.study": 9,
    "chainer_vae.claims": 10, "chainer_vae.cli_types": 10,
    "chainer_vae.cli_parser": 11,
    "chainer_vae.cli": 12,
    "chainer_vae.pretrained.build": 13,
}


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package):
    return {module_name(path): path for path in (REPO / package).rglob("*.py")}


def imported(path, name, known):
    """The project modules ``path`` (module ``name``) imports."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from package import module`` depends on the module; ``from module import
            # name`` on the module itself
            submodules = ["{}.{}".format(base, alias.name) for alias in node.names]
            targets = [target for target in submodules if target in known] or [base]
        else:
            continue
        found.update(target for target in targets if target in known)
    return found - {name}


def unit(name):
    """The layer unit a module belongs to: the longest key of RANKS it starts with."""
    matches = [key for key in RANKS if name == key or name.startswith(key + ".")]
    return max(matches, key=len)


ALL = {**modules("chainer_vae"), **modules("midi")}
GRAPH = {name: imported(path, name, ALL) for name, path in ALL.items()}


def upward(name, targets):
    """The imports among ``targets`` of module ``name`` that do not point down."""
    mine = unit(name)
    return sorted(target for target in targets if target.startswith("chainer_vae")
                  and unit(target) not in (mine, "chainer_vae")
                  and RANKS[unit(target)] >= RANKS[mine])


def find_cycle(graph):
    """One import cycle of ``graph`` ({module: imported modules}) as a list, or None."""
    state = {}

    def visit(name, stack):
        state[name] = "open"
        for target in sorted(graph.get(name, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target, stack + [target])
                if cycle:
                    return cycle
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name, [name])
            if cycle:
                return cycle
    return None


def documented_layers():
    """{module: layer} of the Layers table of docs/reference.md."""
    text = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    return {name: int(layer) for layer, modules in re.findall(r"^\| (\d+) \| (.*) \|$",
                                                              section, re.MULTILINE)
            for name in re.findall(r"`([\w.]+)`", modules)}


def test_the_documented_layers_are_these():
    assert documented_layers() == RANKS


def test_every_module_has_a_layer():
    assert all(unit(name) for name in ALL if name.startswith("chainer_vae"))


@pytest.mark.parametrize("name", sorted(n for n in ALL if n.startswith("chainer_vae")))
def test_imports_point_down(name):
    assert not upward(name, GRAPH[name]), "{} imports {}".format(name, upward(name, GRAPH[name]))


def top_level_imports(path):
    """The top-level packages ``path`` imports absolutely (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_midi_never_imports_chainer_or_chainer_vae():
    for name, path in modules("midi").items():
        assert not top_level_imports(path) & {"chainer", "chainer_vae", "cupy"}, name


def test_the_package_never_imports_the_benchmarks():
    """benchmarks/ sits above every layer and is not shipped (setup.py's find_packages)."""
    assert not [name for name, path in ALL.items() if "benchmarks" in top_level_imports(path)]


def test_nothing_edits_sys_path():
    """The benchmarks are a package (``python -m benchmarks.NAME``) and the tests import them
    as one: no script or test puts a folder on ``sys.path`` itself."""
    edits = []
    for folder in ("benchmarks", "tests"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                # sys.path.insert, .append, .remove, ...
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                        and node.value.attr == "path" and isinstance(node.value.value, ast.Name)
                        and node.value.value.id == "sys"):
                    edits.append("{}:{}".format(path.relative_to(REPO), node.lineno))
    assert not edits


def test_no_import_cycles():
    assert find_cycle(GRAPH) is None


def test_the_checks_find_a_planted_upward_import_and_cycle(tmp_path):
    source = tmp_path / "runs.py"
    source.write_text("def f():\n    from chainer_vae.training import trainer\n")
    targets = imported(source, "chainer_vae.runs", ALL)
    assert upward("chainer_vae.runs", targets) == ["chainer_vae.training.trainer"]
    assert upward("chainer_vae.cli", targets) == []
    graph = dict(GRAPH, **{"chainer_vae.runs": GRAPH["chainer_vae.runs"] | targets})
    assert "chainer_vae.runs" in find_cycle(graph)
