"""The wheel carries everything: built from the checkout, installed into a fresh venv outside
it, `townhall demo` run from another directory serves every page, every file they name, the
Socket.IO client and the QR code, and a Socket.IO connection works.

The build runs with an empty PATH, so it cannot start node or npm (or anything else by name):
setup.py takes the client from the npm registry by the lock, or from node_modules/. The venv gets
the runtime lock's packages, hash-checked, then the wheel with --no-deps, then `pip check`: the
same versions every time, and a wheel whose dependencies the lock does not meet fails."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.conftest import Endpoint, free_socket, wait_until

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "townhall/bundled/"
CLIENT = "/vendor/socket.io.esm.min.js"
# Page addresses as `townhall demo` prints them.
PRINTED = {
    "phone": re.compile(r"Phones \(join\):\s+(\S+)"),
    "host": re.compile(r"Host screen:\s+([^#\s]+)"),
    "moderator": re.compile(r"Moderator:\s+([^#\s]+)"),
    "projector": re.compile(r"Projector:\s+(\S+)"),
    "console": re.compile(r"Organiser's console:\s+(\S+)"),
}
HOST_KEY = re.compile(r"Host screen:\s+\S+#key=(\S+)")
ORGANISER_KEY = re.compile(r"Organiser key \(shown only now; keep it safe\): (\S+)")
# What a page names (scripts, stylesheets, preloads, images), and a script's rooted imports.
NAMED = re.compile(r"""(?:src|href)="(/(?:static|vendor)/[^"]+)\"""")
IMPORTED = re.compile(r"""(?<![\w$.])(?:from|import)\s*\(?\s*["'](/[^"']+)["']""")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 240) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def outside_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point Python back at the checkout."""
    env = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("TOWNHALL")
    }
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the checkout into a temporary directory; setuptools' build and
    egg-info directories go there too (DIST_EXTRA_CONFIG), so the checkout is left as it was.
    No build isolation: the venv's setuptools is the locked one, nothing is fetched for it."""
    out = tmp_path_factory.mktemp("wheel")
    (out / "no-programs").mkdir()
    config = out / "setup.cfg"
    config.write_text(f"[build]\nbuild_base = {out / 'build'}\n[egg_info]\negg_base = {out}\n")
    env = outside_env(PATH=str(out / "no-programs"), DIST_EXTRA_CONFIG=str(config))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run([*command, str(ROOT), "-w", str(out / "dist")], cwd=out, env=env)
    [built] = (out / "dist").glob("townhall-*.whl")
    return built


def test_the_wheel_holds_the_server_s_files_and_nothing_of_the_checkout_s_own(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        client = archive.read(BUNDLED + "vendor/socket.io.esm.min.js")
    shipped = [
        *(f.relative_to(ROOT) for d in ("templates", "static") for f in (ROOT / d).rglob("*")),
        *(f.relative_to(ROOT) for f in (ROOT / "rooms").glob("*.toml")),
        Path("rooms/small-library-proposals.csv"),  # the demo's candidates
    ]
    missing = [
        path.as_posix()
        for path in shipped
        if (ROOT / path).is_file() and BUNDLED + path.as_posix() not in names
    ]
    assert not missing
    assert {"townhall/locale/ko/LC_MESSAGES/townhall.po", "townhall/engine/lua/vote.lua"} <= names
    assert client == (ROOT / "node_modules/socket.io-client/dist/socket.io.esm.min.js").read_bytes()
    assert BUNDLED + "vendor/socket.io-client.LICENSE" in names
    # Only the package and its metadata: no tests, no node_modules, no secrets from rooms/.
    assert {name.split("/")[0] for name in names} == {
        "townhall",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert not [n for n in names if "node_modules" in n or ".codes." in n or "-cards-" in n]


def test_the_client_must_be_the_one_the_lock_names() -> None:
    """setup.py refuses a download whose sha512 is not the lock's, and finds the registry's
    address for a lock written without `resolved` URLs."""
    spec = importlib.util.spec_from_file_location("setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    setup: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    version, url, integrity = setup.locked(ROOT / "package-lock.json", "socket.io-client")
    assert url == f"https://registry.npmjs.org/socket.io-client/-/socket.io-client-{version}.tgz"
    with pytest.raises(setup.BundleError, match="is not the locked"):
        setup.check_integrity(b"a tampered tarball", integrity, url)


@pytest.fixture
def venv(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh venv outside the checkout with the locked dependencies and the wheel."""
    env = outside_env()
    run([sys.executable, "-m", "venv", str(tmp_path / "venv")], cwd=tmp_path, env=env)
    pip = [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip"]
    lock = str(ROOT / "requirements.lock")
    run([*pip, "install", "-q", "--require-hashes", "-r", lock], cwd=tmp_path, env=env)
    run([*pip, "install", "-q", "--no-deps", str(wheel)], cwd=tmp_path, env=env)
    run([*pip, "check"], cwd=tmp_path, env=env)
    yield tmp_path / "venv"


@dataclass
class Demo:
    """`townhall demo` from the venv, its output in `log`."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def demo(venv: Path, tmp_path: Path) -> Iterator[Demo]:
    """The installed demo, run from a directory that is neither the checkout nor the venv,
    with only the venv's programs on PATH: node, npm and the checkout are out of reach."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "elsewhere").mkdir()
    command = [str(venv / "bin" / "townhall"), "demo", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--public-url", url]
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp_path)}
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=tmp_path / "elsewhere", env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield Demo(url, process, log)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.timeout(300)
async def test_the_installed_demo_serves_every_page_file_and_socket(demo: Demo) -> None:
    url = demo.url
    async with httpx.AsyncClient(timeout=10) as http:
        await serving(http, demo)
        printed = demo.output()
        pages = printed_pages(printed)
        code = pages["phone"].rsplit("/", 1)[1]
        pages |= {"landing": f"{url}/", "committee": f"{url}/committee/{code}"}
        named = set()
        for name, page in pages.items():
            response = await http.get(page)
            # The console answers with its sign-in page until the organiser has signed in.
            assert response.status_code == (401 if name == "console" else 200), (name, page)
            named |= set(NAMED.findall(response.text))
        organiser_key = ORGANISER_KEY.search(printed)
        assert organiser_key, printed
        origin = {"origin": url}
        signed_in = await http.post(
            f"{url}/admin/login", data={"key": organiser_key.group(1)}, headers=origin
        )
        assert signed_in.status_code == 303
        console = await http.get(pages["console"])
        assert console.status_code == 200
        named |= set(NAMED.findall(console.text))
        fetched, imported = await fetch_all(http, url, named)
        assert any(re.fullmatch(r"/vendor/socket\.io\.esm\.min\.\w+\.js", f) for f in fetched)
        assert imported and imported <= fetched  # every versioned import was found and fetched
        plain = await http.get(url + CLIENT)
        assert plain.status_code == 200 and plain.content
        qr = await http.get(f"{url}/qr/{code}.svg")
        assert qr.headers["content-type"] == "image/svg+xml" and b"<svg" in qr.content
    host_key = HOST_KEY.search(printed)
    assert host_key, printed
    endpoint = Endpoint(url, code, host_key.group(1))
    host = await endpoint.host()
    phone, _ = await endpoint.phone()
    assert (await phone.call("snapshot"))["state"]["current"] == 0
    assert (await host.call("next"))["ok"]
    await phone.wait_for("state", lambda s: s["current"] == 1, "the phone to hear the host")
    await endpoint.close_clients()


async def serving(http: httpx.AsyncClient, demo: Demo) -> None:
    """Until /livez answers and the addresses are printed."""

    async def answers() -> bool:
        try:
            return (await http.get(f"{demo.url}/livez")).status_code == 200
        except httpx.TransportError:
            return False

    deadline = asyncio.get_running_loop().time() + 60
    while not await answers():
        assert demo.process.poll() is None, demo.output()
        assert asyncio.get_running_loop().time() < deadline, demo.output()
        await asyncio.sleep(0.05)
    await wait_until(lambda: "Organiser's console:" in demo.output(), "the console's address")


def printed_pages(output: str) -> dict[str, str]:
    """The pages' addresses as `townhall demo` printed them, keys left out."""
    pages = {}
    for name, pattern in PRINTED.items():
        match = pattern.search(output)
        assert match, (name, output)
        pages[name] = match.group(1)
    return pages


async def fetch_all(
    http: httpx.AsyncClient, url: str, paths: set[str]
) -> tuple[set[str], set[str]]:
    """Every file of `paths` and all that the scripts among them import: each answers 200 with
    a body. The paths fetched, and those imported."""
    fetched: set[str] = set()
    imported: set[str] = set()
    waiting = set(paths)
    while waiting:
        path = waiting.pop()
        response = await http.get(url + path)
        assert response.status_code == 200 and response.content, path
        fetched.add(path)
        if path.endswith(".js"):
            imported |= set(IMPORTED.findall(response.text))
            waiting |= imported - fetched
    return fetched, imported
