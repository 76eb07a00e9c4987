"""The package as a library: a light `import qa`, `python -m qa`, and a built wheel that installs and runs in a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "faiss", "gradio", "sentence_transformers", "transformers", "onnxruntime", "spacy",
         "mcp", "langchain_core", "llama_index")


def _python(code: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, **kw)


def test_importing_qa_and_its_cli_loads_no_heavy_library():
    code = ("import sys, qa, qa.cli, qa.integrations\n"
            "from qa import Retriever, SearchSettings, SearchFilter, Answerer, Article\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"imported at `import qa`: {proc.stdout}"


def test_python_dash_m_qa_is_the_qa_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "qa", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and "usage: qa" in proc.stdout and "mcp" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "qa", "no-such-command"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    """Build the wheel from a copy of the source, install it (no deps) into a new venv, run `qa` there.

    The new venv sees this environment's third-party packages through a .pth line (so nothing is
    downloaded again), but not this checkout: the `qa` it runs must be the installed wheel's.
    """
    src = tmp_path / "src"
    shutil.copytree(ROOT / "qa", src / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("article_qa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "qa/__main__.py" in names and "qa/integrations/mcp.py" in names and "qa/stores/local/__init__.py" in names
    assert {"qa/reading/sources.py", "qa/encoders/onnx.py", "qa/stores/milvus/schema.py", "qa/answerers/llm/http.py",
            "qa/evaluation/calibration.py", "qa/app/ui.py", "qa/cli/__main__.py"} <= set(names)  # every subpackage
    assert any(n.startswith("qa/answerers/models/") and n.endswith(".json") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert {"milvus", "ray", "llm", "mcp", "langchain", "llama-index"} <= extras
    assert "Requires-Dist: mcp>=2.3; extra == \"mcp\"" in metadata

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # this checkout (an editable install) stays out
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    fresh = bin_dir / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh), "install", "-q", "--no-deps",
                              "--no-index", str(wheel)], capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stderr
    site = subprocess.run([str(fresh), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    run = subprocess.run([str(bin_dir / "qa"), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "usage: qa" in run.stdout and "mcp" in run.stdout and "ingest" in run.stdout
    where = subprocess.run([str(fresh), "-c", "import qa; print(qa.__file__, qa.__version__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(Path(site) / "qa")), where.stdout
    help_m = subprocess.run([str(fresh), "-m", "qa", "mcp", "--help"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert help_m.returncode == 0 and "--style" in help_m.stdout


def test_index_option_keeps_a_backend_uri_as_written():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "qa", "--index", "nosuch://host:1/news", "stats"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "nosuch://host:1/news" in proc.stderr and "no index backend" in proc.stderr
