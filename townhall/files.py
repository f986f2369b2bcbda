"""Where Townhall's own files are: the pages' templates, the static files, the shipped programmes
and the browser's Socket.IO client.

An installed wheel carries them in the package, in townhall/bundled/ (setup.py copies them there
when the wheel is built). A checkout, or an editable install of one, has no bundled/: the files
are the checkout's top-level directories, and the client is npm's, in node_modules/."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "bundled"
INSTALLED = BUNDLED.is_dir()
ROOT = BUNDLED if INSTALLED else PACKAGE.parent

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
ROOMS = ROOT / "rooms"
SOCKET_IO_CLIENT = (
    BUNDLED / "vendor" / "socket.io.esm.min.js"
    if INSTALLED
    else ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"
)
DEMO_ROOM = ROOMS / "small-library-open-forum.toml"
