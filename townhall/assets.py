"""Static files under versioned names: each name carries a hash of the file's content, so a
browser keeps it for a year and a changed file is a new name. A script's imports are rewritten to
their versioned names too (so a script's hash covers what it imports), and every file is gzipped
once at start."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from markupsafe import Markup, escape
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = "/static/"
# A versioned file never changes; anything else (pages, files by their plain names) is checked
# with the server on every use.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_CHARS = 12
# Below this, gzip's header and the work outweigh what it saves; pages use the same bound.
GZIP_MINIMUM_BYTES = 1024
# `from "./x.js"`, `import "./x.js"` and `import("./x.js")` with a relative or rooted path.
IMPORT = re.compile(r"""(?<![\w$.])(from|import)(\s*\(?\s*)(["'])(\.{0,2}/[^"'\s]+)\3""")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


class AssetError(Exception):
    """The static files cannot be versioned (an import cycle) or a page names a missing one."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as served under its versioned name."""

    path: str  # its plain URL path, e.g. /static/js/phone.js
    url: str  # its versioned URL path, e.g. /static/js/phone.0123456789ab.js
    body: bytes
    gzipped: bytes | None  # None: too small to be worth it
    media_type: str
    imports: tuple[str, ...]  # the plain URL paths of the files it imports, in order


class Assets:
    """Every static file by its plain and its versioned URL path; built once at start."""

    def __init__(self, assets: Mapping[str, Asset]) -> None:
        self.by_path = dict(assets)
        self.by_url = {asset.url: asset for asset in assets.values()}

    @classmethod
    def build(cls, static: Path, extra: Mapping[str, Path]) -> Assets:
        """The files under `static` (served at /static/) and `extra` (URL path -> file; a
        missing one is left out)."""
        sources = {
            STATIC + file.relative_to(static).as_posix(): file
            for file in sorted(static.rglob("*"))
            if file.is_file()
        }
        sources.update({path: file for path, file in extra.items() if file.is_file()})
        raw = {path: file.read_bytes() for path, file in sources.items()}
        own = {path for path in raw if path.startswith(STATIC)}
        built: dict[str, Asset] = {}

        def version(path: str, seen: tuple[str, ...]) -> Asset:
            if path in seen:
                raise AssetError(f"import cycle: {' -> '.join((*seen, path))}")
            if path not in built:
                body, imports = raw[path], tuple[str, ...]()
                if path.endswith(".js") and path in own:
                    body, imports = rewrite_imports(
                        path, body, lambda target: version(target, (*seen, path)).url, raw
                    )
                built[path] = make_asset(path, body, imports)
            return built[path]

        for path in raw:
            version(path, ())
        return cls(built)

    def find(self, name: str) -> Asset:
        """The file `name`: a path under /static/ (`js/phone.js`) or a rooted one."""
        asset = self.by_path.get(name if name.startswith("/") else STATIC + name)
        if asset is None:
            raise AssetError(f"no static file {name!r}")
        return asset

    def url(self, name: str) -> str:
        """The versioned URL of `name` (as `find` takes it)."""
        return self.find(name).url

    def imported(self, name: str) -> list[str]:
        """The versioned URLs of every file `name` imports, directly or not, in the order the
        browser runs them (a file after what it imports)."""
        order: list[str] = []

        def visit(asset: Asset) -> None:
            for path in asset.imports:
                imported = self.by_path[path]
                if imported.url not in order:
                    visit(imported)
                    order.append(imported.url)

        visit(self.find(name))
        return order

    def module(self, name: str) -> Markup:
        """The tags that load the script `name`: deferred as every module is, and each file it
        imports named up front, so the browser fetches them all at once, not one after another."""
        tags = [f'<script type="module" src="{escape(self.url(name))}"></script>']
        tags += [f'<link rel="modulepreload" href="{escape(url)}">' for url in self.imported(name)]
        return Markup("\n  ".join(tags))  # noqa: S704 - every part is escaped above

    def stylesheet(self, name: str) -> Markup:
        return Markup(f'<link rel="stylesheet" href="{escape(self.url(name))}">')  # noqa: S704

    def response(self, scope: Scope) -> Response | None:
        """The versioned file a request names, gzipped if the browser takes that; None if it
        names none."""
        asset = self.by_url.get(scope.get("path", ""))
        if asset is None or scope.get("method") not in ("GET", "HEAD"):
            return None
        headers = {"cache-control": IMMUTABLE, "vary": "Accept-Encoding"}
        body = asset.body
        if asset.gzipped is not None and accepts_gzip(
            Headers(scope=scope).get("accept-encoding", "")
        ):
            body = asset.gzipped
            headers["content-encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)


class StaticServer:
    """Versioned files from memory, kept by browsers for a year; anything else goes to `plain`
    (the files by their plain names, for old pages and links), checked on every use."""

    def __init__(self, assets: Assets, plain: ASGIApp) -> None:
        self.assets = assets
        self.plain = plain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.assets.response(scope) if scope["type"] == "http" else None
        if response is not None:
            await response(scope, receive, send)
            return

        async def revalidated(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["cache-control"] = REVALIDATE
            await send(message)

        await self.plain(scope, receive, revalidated)


def rewrite_imports(
    path: str, body: bytes, versioned: Callable[[str], str], known: Mapping[str, bytes]
) -> tuple[bytes, tuple[str, ...]]:
    """`body` with each import of a known file renamed by `versioned(plain path)`, and the plain
    paths it imports."""
    imports: list[str] = []
    base = PurePosixPath(path).parent

    def rename(match: re.Match[str]) -> str:
        keyword, gap, quote, specifier = match.groups()
        target = resolve(base, specifier)
        if target not in known:
            return match.group(0)
        if target not in imports:
            imports.append(target)
        return f"{keyword}{gap}{quote}{versioned(target)}{quote}"

    text = IMPORT.sub(rename, body.decode("utf-8"))
    return text.encode("utf-8"), tuple(imports)


def resolve(base: PurePosixPath, specifier: str) -> str:
    """A relative or rooted import's URL path, as the browser resolves it."""
    if specifier.startswith("/"):
        return specifier
    parts: list[str] = []
    for part in (*base.parts[1:], *PurePosixPath(specifier).parts):
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


def make_asset(path: str, body: bytes, imports: tuple[str, ...]) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:HASH_CHARS]
    stem, dot, suffix = path.rpartition(".")
    suffix_of = f".{suffix}" if dot else ""
    media_type = MEDIA_TYPES.get(suffix_of) or (
        mimetypes.guess_type(path)[0] or "application/octet-stream"
    )
    # mtime=0: the same file gives the same bytes on every start and every worker.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(
        path=path,
        url=f"{stem}.{digest}.{suffix}" if dot else f"{path}.{digest}",
        body=body,
        gzipped=gzipped if len(body) >= GZIP_MINIMUM_BYTES and len(gzipped) < len(body) else None,
        media_type=media_type,
        imports=imports,
    )


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0)."""
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            return not quality or float_or_one(quality) > 0
    return False


def float_or_one(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0
