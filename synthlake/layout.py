"""The engine's map: its stages, what each may import, and the package map generated from
each module's own docstring (so the map cannot drift from the code).

    python -m synthlake.layout           print the map
    python -m synthlake.layout --write   rewrite it in synthlake/__init__.py and synthlake/README.md

The core (the top-level modules and `llm/`) serves every stage and imports none of them
(the `synthlake` command, `cli`, sits on top and may import anything). Each stage is a
folder named after its Dagster asset group (the group `real` is the core's catalog and
real data); a stage imports the core and only the stages `STAGE_IMPORTS` names
(tests/unit/test_imports.py checks both).
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STAGES = ("generation", "measures", "evaluation", "subjectivity", "analysis")  # pipeline order
STAGE_IMPORTS = {
    "generation": {"evaluation"},  # error-driven rounds train a small classifier each round
    "measures": {"generation"},  # coverage reads the label filter's words
    "evaluation": set(),
    "subjectivity": {"evaluation"},  # proxies and instance-level results train classifiers
    "analysis": {"evaluation", "subjectivity"},  # plots and the report draw both
}
# The documentation: the front door, then one page per folder. Each stage folder has its
# own page (tests/unit/test_layout.py), which the front door links to.
FRONT_PAGE = "README.md"
ENGINE_PAGE = "synthlake/README.md"  # the package map, the tables, the variables
PAGES = (FRONT_PAGE, "orchestration/README.md", ENGINE_PAGE, "synthlake/llm/README.md",
         *(f"synthlake/{stage}/README.md" for stage in STAGES), "quality/README.md",
         "synthlake/tasks/README.md", "bench/README.md")
WIDTH = 100  # the map's lines, indented in the package docstring, stay under ruff's 110
MAP_START, MAP_END = "<!-- package-map:start -->", "<!-- package-map:end -->"


def summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    text = ast.get_docstring(ast.parse(path.read_text())) or ""
    paragraph = " ".join(text.split("\n\n")[0].split())
    end = re.search(r"(?<! al)\.\s", paragraph)  # "Wang et al. 2023" ends no sentence
    return paragraph if end is None else paragraph[:end.start() + 1]


def package_map() -> str:
    """One line per module, folder by folder: the core, `llm/`, then each stage."""
    folders = [("synthlake", PACKAGE), ("synthlake/llm", PACKAGE / "llm"),
               *((f"synthlake/{s}", PACKAGE / s) for s in STAGES)]
    lines = []
    for name, folder in folders:
        head = summary(folder / "__init__.py") if folder != PACKAGE else \
            "the core: shared by every stage, imports none"
        lines += textwrap.wrap(f"{name}/  {head}", WIDTH, subsequent_indent=" " * 18)
        for module in sorted(folder.glob("*.py")):
            if module.name != "__init__.py":
                lines += textwrap.wrap(f"    {module.stem:<13} {summary(module)}", WIDTH,
                                       subsequent_indent=" " * 18)
    return "\n".join(lines)


def with_map(text: str, block: str) -> str:
    """`text` with the map between its markers replaced by `block`."""
    head, rest = text.split(MAP_START, 1)
    _, tail = rest.split(MAP_END, 1)
    return f"{head}{MAP_START}\n{block}\n{MAP_END}{tail}"


def write(root: Path = PACKAGE.parent) -> None:
    block = package_map()
    init, readme = PACKAGE / "__init__.py", root / ENGINE_PAGE
    init.write_text(with_map(init.read_text(), "\n".join(
        "    " + line if line else line for line in block.splitlines()) + "\n"))
    readme.write_text(with_map(readme.read_text(), f"```\n{block}\n```"))


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(package_map())
