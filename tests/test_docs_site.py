"""The documentation site builds, as `make docs` builds it: ``mkdocs build --strict`` with
mkdocs.yml (MkDocs, the Material theme, mkdocstrings for the API reference), where every
warning (a broken link or anchor, a page missing from the navigation, a docstring the API
reference cannot render) is an error. The build goes to a temporary directory, not site/,
and its pages are checked: the home page with README.md's introduction, the tutorials, the
architecture, the CLI reference generated from ``ffbp --help`` (docs/hooks/ffbp_site.py)
and the API reference of ffbp's public modules. The build takes a few seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

ROOT = Path(__file__).resolve().parents[1]
WHY = "the documentation site's build (make docs)"
MODULES = ["ffbp", "optim", "losses", "sklearn", "tabular", "data", "onnx"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require("mkdocs", WHY)
    require("material", WHY + " with the Material theme (mkdocs-material)")
    require("mkdocstrings_handlers.python", WHY + ": the API reference (mkdocstrings[python])")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
                           "--site-dir", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, "\n".join(warnings)
    return out


def page(site: Path, path: str) -> str:
    file = site / path / "index.html" if path else site / "index.html"
    assert file.is_file(), f"the site has no {file.relative_to(site)}"
    return file.read_text(encoding="utf-8")


def text(html: str) -> str:
    """The page's text: tags dropped (``<strong>F</strong>eed`` is "Feed"), spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_home_page_has_the_readme_introduction(site):
    home = text(page(site, ""))
    intro = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ")[0]
    first = re.sub(r"[*`]", "", intro.splitlines()[2])       # its first line of prose
    assert " ".join(first.split()) in home
    for link in ("tutorials/", "architecture/", "cli/", "api/"):
        assert f'href="{link}' in page(site, "")


def test_tutorials_and_architecture_are_pages(site):
    tutorials = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("[0-9]*.md"))
    assert tutorials
    for name in tutorials:
        assert "<h1" in page(site, f"tutorials/{name}")
    assert "How ffbp is built" in page(site, "architecture")


def test_cli_reference_is_ffbp_help(site):
    from ffbp.cli import build_parser

    cli = text(page(site, "cli"))
    assert "usage: ffbp [-h]" in cli
    commands = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)
    for name in commands.choices:
        assert f"usage: ffbp {name} [-h]" in cli, name


def test_api_reference_covers_the_public_modules(site):
    import ffbp

    assert "ffbp.optim" in page(site, "api")
    for module in MODULES:
        html = page(site, f"api/{module}")
        name = "ffbp" if module == "ffbp" else f"ffbp.{module}"
        assert f'id="{name}"' in html, name
    ffbp_page = page(site, "api/ffbp")
    for name in ("Network", "Dense", "fit", "save", "load", "History", "explain.explain"):
        assert f'id="ffbp.{name}"' in ffbp_page, name
    assert ffbp.Network.__doc__.split()[0] in text(ffbp_page)
    assert 'id="ffbp.optim.adam"' in page(site, "api/optim")
    assert 'id="ffbp.sklearn.MLPClassifier"' in page(site, "api/sklearn")
