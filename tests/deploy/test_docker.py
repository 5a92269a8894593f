"""The Dockerfile without a Docker daemon: hadolint, BuildKit's own parser (the `dockerfile`
package wraps it), the files it copies, and the lock it installs."""

import fnmatch
import re

from tests.deploy.tools import ROOT, module, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list:
    dockerfile = module("dockerfile")
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def pins(path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of a uv-compiled lock file."""
    found = {}
    for block in re.split(r"\n(?=[a-z0-9])", path.read_text()):
        match = re.match(r"([a-z0-9][a-z0-9._-]*)==(\S+)", block)
        if match:
            found[match[1]] = (match[2], frozenset(re.findall(r"sha256:(\w+)", block)))
    return found


def test_hadolint_passes() -> None:
    result = run([tool("hadolint"), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages_base_images_user_and_health_check() -> None:
    parsed = instructions()
    bases = [i.value[0] for i in parsed if i.cmd == "FROM"]
    assert bases[0].startswith("node:") and bases[1:] == ["python:3.11-slim-bookworm"] * 2
    user = [i.value[0] for i in parsed if i.cmd == "USER"]
    assert user and not user[-1].startswith(("0", "root"))
    (health,) = [i for i in parsed if i.cmd == "HEALTHCHECK"]
    assert "/health" in " ".join(health.value)
    assert [i.value for i in parsed if i.cmd == "CMD"][-1] == ("riskops", "serve")


def test_copied_files_exist_and_are_not_dockerignored() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for i in instructions():
        if i.cmd == "COPY" and not any(f.startswith("--from=") for f in i.flags):
            sources += list(i.value[:-1])
    assert "requirements-runtime.lock" in sources and "src" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_the_assets_stage_copies_what_make_assets_copies() -> None:
    def assets(text: str) -> set[str]:
        return set(re.findall(r"node_modules/\S+", text))

    makefile = (ROOT / "Makefile").read_text()
    assert assets(DOCKERFILE.read_text()) == assets(makefile)


def test_the_runtime_lock_is_the_main_lock_without_dev_tools() -> None:
    runtime = pins(ROOT / "requirements-runtime.lock")
    main = pins(ROOT / "requirements.lock")
    assert runtime, "the runtime lock pins packages"
    differing = {name: pin for name, pin in runtime.items() if main.get(name) != pin}
    assert differing == {}, "run `make lock`"
    assert not {"pytest", "mypy", "ruff", "ansible-core"} & set(runtime)
    assert {"fastapi", "uvicorn", "asyncpg", "lightgbm"} <= set(runtime)
