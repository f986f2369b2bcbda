"""A printable page of ballot-code cards: each with its code and a QR code that opens the join
page with the code filled in, eight to an A4 sheet, with lines to cut along."""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape

import segno

from townhall.codes.book import Issued
from townhall.codes.format import shown


def join_link(base_url: str, forum_code: str, code: str) -> str:
    """The card's link. The code rides in the fragment, which a browser never sends to the
    server: it stays out of access logs and proxies, and the phone page sends it over the
    forum's own connection instead."""
    return f"{base_url.rstrip('/')}/j/{forum_code}#ballot={code}"


def _qr(link: str) -> str:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(
        buffer, kind="svg", scale=4, border=2, dark="#000", light="#fff", xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode()


def card_page(
    title: str, base_url: str, forum_code: str, codes: Sequence[Issued], labels: Sequence[str] = ()
) -> str:
    """The HTML of the cards; `labels` (the draw's applicant ids, say) print one per card, so
    each card goes to the right hand."""
    address = escape(f"{base_url.rstrip('/')}/j/{forum_code}")
    cards = []
    for i, issued in enumerate(codes):
        label = f'<p class="for">{escape(labels[i])}</p>' if i < len(labels) else ""
        cards.append(
            f"""<section class="card">
  <header><span class="title">{escape(title)}</span>
  <span class="no">{escape(issued.group)} · No. {issued.n}</span></header>
  <div class="body">
    <div class="qr">{_qr(join_link(base_url, forum_code, issued.code))}</div>
    <div class="text">
      <p class="what">투표 코드 · Ballot code</p>
      <p class="code">{escape(shown(issued.code))}</p>
      <p class="how">QR 코드를 찍거나 {address} 에서 코드를 입력하세요.</p>
      <p class="how">Scan the QR code, or open {address} and type the code.</p>
      <p class="how">한 사람에 한 장 · One card, one person.</p>
      {label}
    </div>
  </div>
</section>"""
        )
    return PAGE.format(title=escape(title), cards="\n".join(cards))


PAGE = """<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<title>{title}: ballot codes</title>
<style>
  @page {{ size: A4; margin: 10mm; }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; font-family: "Noto Sans CJK KR", "Noto Sans KR", sans-serif; color: #000; }}
  .sheet {{ display: grid; grid-template-columns: 1fr 1fr; }}
  .card {{ height: 68mm; padding: 5mm; border: 1px dashed #888; break-inside: avoid;
          display: flex; flex-direction: column; gap: 2mm; }}
  header {{ display: flex; justify-content: space-between; gap: 2mm; font-size: 9pt; }}
  .title {{ font-weight: bold; overflow-wrap: anywhere; }}
  .no {{ white-space: nowrap; }}
  .body {{ display: flex; gap: 4mm; align-items: center; }}
  .qr svg {{ width: 34mm; height: 34mm; display: block; }}
  .what {{ margin: 0; font-size: 9pt; }}
  .code {{ margin: 1mm 0 2mm; font: bold 17pt/1 "DejaVu Sans Mono", monospace;
          letter-spacing: 0.06em; white-space: nowrap; }}
  .how {{ margin: 0 0 1mm; font-size: 7.5pt; overflow-wrap: anywhere; word-break: keep-all; }}
  .for {{ margin: 1mm 0 0; font-size: 8pt; font-weight: bold; }}
</style>
</head>
<body>
<main class="sheet">
{cards}
</main>
</body>
</html>
"""
