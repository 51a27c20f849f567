"""The installable package: build the wheel, install it in a clean venv, use it elsewhere.

The venv lives outside the checkout, the commands run from another folder with
no ``PYTHONPATH``, and the per-user folders (``XDG_DATA_HOME``,
``XDG_CACHE_HOME``) point into the test's own folder, so nothing can be found
by accident in the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 900):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, object]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build and install the wheel; `make setup` installs it")
    tmp = tmp_path_factory.mktemp("wheel")
    # PYTHONDONTWRITEBYTECODE is dropped too: the venv is fresh, so the first command
    # compiles what it imports and the later ones reuse it, as on a user's machine.
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "WANGGE_HOME", "WANGGE_VENDOR_DIR",
                        "PYTHONDONTWRITEBYTECODE"}}
    dist = tmp / "dist"
    built = _run([uv, "build", "--wheel", "--out-dir", str(dist), str(ROOT)], cwd=tmp, env=env)
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("wangge-*.whl"))
    venv = tmp / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    made = _run([uv, "venv", "--python", base, str(venv)], cwd=tmp, env=env)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    install = [uv, "pip", "install", "--python", str(py), str(wheel)]
    done = _run([*install, "--offline"], cwd=tmp, env=env)  # the uv cache, when it has it all
    if done.returncode != 0:
        done = _run(install, cwd=tmp, env=env)  # else PyPI
    assert done.returncode == 0, done.stderr
    work = tmp / "elsewhere"
    work.mkdir()
    env.update(XDG_DATA_HOME=str(tmp / "data"), XDG_CACHE_HOME=str(tmp / "cache"))
    return {"venv": venv, "py": py, "wangge": venv / "bin" / "wangge", "work": work, "env": env,
            "tmp": tmp}


def _wangge(installed, *args: str):
    return _run([str(installed["wangge"]), *args], cwd=installed["work"],  # type: ignore[arg-type]
                env=installed["env"])  # type: ignore[arg-type]


def _probe(installed) -> list[str]:
    """Where the installed code imports from, keeps projects and map assets, and rules."""
    r = _run([str(installed["py"]), "-c",
              "import geo, geo.project, geo.maps.assets, geo.rules.rulebook; print(geo.__file__); "
              "print(geo.project.home()); print(geo.maps.assets.vendor_dir(fetch=False))\n"
              "try:\n    geo.rules.rulebook.load_rulebook(); print('rules')\n"
              "except Exception as exc:\n    print(exc)"],
             cwd=installed["work"], env=installed["env"])  # type: ignore[arg-type]
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")[:4]


def test_sample_check_and_export_from_another_folder(installed):
    where, home, vendor, rulebook = _probe(installed)
    assert str(installed["venv"]) in where and str(ROOT) not in where
    tmp: Path = installed["tmp"]  # type: ignore[assignment]
    assert Path(home) == tmp / "data" / "wangge"  # the per-user data folder
    assert Path(vendor) == tmp / "cache" / "wangge" / "vendor"  # filled on first use
    # While the wheel ships no rulebook, load the checkout's the way check does (--rules);
    # once the rulebooks live inside the package, the installed default is used.
    rules = [] if rulebook == "rules" else ["--rules", str(ROOT / "data" / "rules" /
                                                       "default.toml")]
    work: Path = installed["work"]  # type: ignore[assignment]
    r = _wangge(installed, "sample", "out")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "out" / "sample_district.gpkg").is_file()

    r = _wangge(installed, "check", "out/sample_district.gpkg", *rules)
    assert r.returncode == 1, r.stdout + r.stderr  # the sample has streets out of band
    assert "宁远新区街道" in r.stdout

    r = _wangge(installed, "export", "out/sample_district.gpkg", "--to", "geojson",
                "--format", "geojson", *rules)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.suffix for p in (work / "geojson").iterdir()) == [".geojson"] * 3
    venv: Path = installed["venv"]  # type: ignore[assignment]
    assert not list(venv.rglob(".wangge")), "project files were written inside the venv"
