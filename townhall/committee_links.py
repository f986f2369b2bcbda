"""The committee members' own links as the host's screen lists them: each member's display name,
address and QR code. Made once per forum: the QR codes take a moment to draw."""

from __future__ import annotations

import base64
from typing import Any

from townhall.model.agenda import Selection
from townhall.web import qr_svg


def member_links(
    join_url: str, code: str, keys: dict[str, str], selection: Selection | None
) -> list[dict[str, Any]]:
    """Each member's link, in the programme's order, with its QR code as a `data:` address: the
    link carries the member's key in its #fragment, which no page address on the server may."""
    names = selection.member_names() if selection is not None else {}
    base = join_url.rsplit("/j/", 1)[0]
    links = []
    for member, key in keys.items():
        url = f"{base}/committee/{code}#member={member}&key={key}"
        svg = base64.b64encode(qr_svg(url)).decode("ascii")
        links.append(
            {
                "member": member,
                "name": names.get(member, member),
                "url": url,
                "qr": f"data:image/svg+xml;base64,{svg}",
            }
        )
    return links
