"""Townhall's build hook: a wheel carries what the server reads besides its code.

The checkout keeps templates/, static/ and rooms/ at its top level. Building a wheel copies them
into the package as townhall/bundled/, with the browser's Socket.IO client taken from
package-lock.json: downloaded from the npm registry and checked against the lock's sha512, or,
when the registry cannot be reached, npm's own copy in node_modules/ if it is the locked version.
Nothing here runs Node or npm. An editable install copies nothing: townhall/files.py finds the
checkout's own directories. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = Path("townhall") / "bundled"  # in the package; townhall/files.py reads it
COPIED = ("templates", "static")
CLIENT = "socket.io-client"
# In the client's npm tarball, and its name in bundled/vendor/.
CLIENT_FILES = {
    "package/dist/socket.io.esm.min.js": "socket.io.esm.min.js",
    "package/LICENSE": "socket.io-client.LICENSE",
}
REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_S = 30


class BundleError(Exception):
    """A file the wheel must carry is missing, or the client is not the one the lock names."""


def locked(lock: Path, name: str) -> tuple[str, str, str]:
    """The version, tarball URL and integrity that package-lock.json gives for `name`; a lock
    written without `resolved` URLs means the public registry."""
    try:
        entry = json.loads(lock.read_text(encoding="utf-8"))["packages"][f"node_modules/{name}"]
        version, integrity = entry["version"], entry["integrity"]
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"{lock}: no locked {name} ({exc!r})") from exc
    url = entry.get("resolved") or f"{REGISTRY}/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"
    return version, url, integrity


def check_integrity(data: bytes, integrity: str, what: str) -> None:
    """Refuse `data` unless its sha512 is the one the lock's integrity string (SRI) names."""
    digests = [d.removeprefix("sha512-") for d in integrity.split() if d.startswith("sha512-")]
    if not digests:
        raise BundleError(f"{what}: the lock's integrity {integrity!r} has no sha512")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual not in digests:
        raise BundleError(f"{what}: sha512-{actual} is not the locked {integrity}")


def download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise BundleError(f"{url}: only an https address is fetched")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310
        data: bytes = response.read()
    return data


def from_tarball(tarball: bytes) -> dict[str, bytes]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, name in CLIENT_FILES.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise BundleError(f"the {CLIENT} tarball has no file {member}")
            files[name] = extracted.read()
    return files


def from_node_modules(package: Path, version: str) -> dict[str, bytes]:
    """npm's copy, which `npm ci` checked against the same lock, if it is the locked version."""
    try:
        found = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
        if found != version:
            raise BundleError(f"{package} is version {found}, the lock says {version}")
        return {
            name: (package / member.removeprefix("package/")).read_bytes()
            for member, name in CLIENT_FILES.items()
        }
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"{package}: no usable copy ({exc})") from exc


def client_files(root: Path) -> dict[str, bytes]:
    """The browser's Socket.IO client and its licence, as package-lock.json locks them."""
    version, url, integrity = locked(root / "package-lock.json", CLIENT)
    try:
        tarball = download(url)
    except OSError as exc:  # urllib's errors are OSErrors: no network, no such address, a 404
        try:
            files = from_node_modules(root / "node_modules" / CLIENT, version)
        except BundleError as fallback:
            raise BundleError(
                f"cannot fetch {url} ({exc}), and {fallback}: build with network, or run"
                " `npm ci` first"
            ) from exc
        print(f"townhall build: {url} unreachable ({exc}); using node_modules", file=sys.stderr)
        return files
    check_integrity(tarball, integrity, url)
    return from_tarball(tarball)


def shipped_rooms(rooms: Path) -> list[Path]:
    """The programmes and the candidate lists they name; nothing else a checkout's rooms/ may
    hold (ballot codes and their keys, cards, applicants) goes into a wheel."""
    files = []
    for programme in sorted(rooms.glob("*.toml")):
        files.append(programme)
        try:
            selection = tomllib.loads(programme.read_text(encoding="utf-8")).get("selection", {})
        except (OSError, ValueError) as exc:  # tomllib's errors are ValueErrors
            raise BundleError(f"{programme}: {exc}") from exc
        if "candidates_csv" in selection:
            named = rooms / selection["candidates_csv"]
            if not named.is_file():
                raise BundleError(f"{programme} names {named.name}, which is not there")
            files.append(named)
    return files


def bundle(root: Path, target: Path) -> None:
    """Write into `target` everything townhall/files.py looks for in an installed package."""
    missing = [
        name for name in (*COPIED, "rooms", "package-lock.json") if not (root / name).exists()
    ]
    if missing:
        raise BundleError(
            f"{root} has no {', '.join(missing)}: build the wheel from a checkout or its sdist"
        )
    shutil.rmtree(target, ignore_errors=True)  # nothing left over from an earlier build
    for name in COPIED:
        shutil.copytree(root / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "rooms").mkdir(parents=True)
    for file in shipped_rooms(root / "rooms"):
        shutil.copyfile(file, target / "rooms" / file.name)
    (target / "vendor").mkdir()
    for name, data in client_files(root).items():
        (target / "vendor" / name).write_bytes(data)


class BuildWithFiles(build_py):
    """setuptools' build_py, then the bundle beside the built package."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            try:
                bundle(HERE, Path(self.build_lib) / BUNDLED)
            except BundleError as exc:
                sys.exit(f"townhall build: {exc}")


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildWithFiles})
