"""The organiser's console at /admin: the forums a server holds, made, opened, closed and
removed from a browser behind the organiser key.

Wiring: `routes(directory, store, base_url)` gives the routes; `ensure_organiser_key(store)`
at start gives the key to print the first time; `cli.arguments` / `cli.run` make
`townhall organiser-key`.
"""

from townhall.console.organiser import KeyStore, ensure_organiser_key
from townhall.console.pages import routes

__all__ = ["KeyStore", "ensure_organiser_key", "routes"]
