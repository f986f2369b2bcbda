"""Versioned static files: names that follow content, imports renamed with them, gzip once."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from townhall.assets import IMMUTABLE, AssetError, Assets


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


APP = {
    "js/common.js": 'import { io } from "/vendor/client.js";\nexport const a = 1;\n',
    "js/page.js": 'import {\n  a,\n} from "./common.js";\nimport "../js/side.js";\nlog(a);\n',
    "js/side.js": "export {};\n",
    "css/site.css": "body { color: black; }\n" * 100,
}


def build(tmp_path: Path, files: dict[str, str]) -> Assets:
    static = tree(tmp_path / "static", files)
    vendor = tree(tmp_path / "vendor", {"client.js": "export const io = 1;\n"})
    return Assets.build(static, {"/vendor/client.js": vendor / "client.js"})


def test_a_name_carries_its_content_hash_and_changes_with_it(tmp_path: Path) -> None:
    before = build(tmp_path / "a", APP)
    same = build(tmp_path / "b", APP)
    changed = build(tmp_path / "c", {**APP, "js/side.js": "export const b = 2;\n"})
    assert before.url("js/side.js") == same.url("js/side.js")
    assert before.url("js/side.js").startswith("/static/js/side.")
    assert before.url("js/side.js") != changed.url("js/side.js")
    # page.js imports side.js, so its name follows side.js's; common.js's does not.
    assert before.url("js/page.js") != changed.url("js/page.js")
    assert before.url("js/common.js") == changed.url("js/common.js")


def test_imports_are_renamed_to_versioned_files_and_preloaded_in_run_order(
    tmp_path: Path,
) -> None:
    assets = build(tmp_path, APP)
    page = assets.find("js/page.js")
    text = page.body.decode()
    assert f'from "{assets.url("js/common.js")}"' in text
    assert f'import "{assets.url("js/side.js")}"' in text
    assert "./common.js" not in text
    assert assets.imported("js/page.js") == [
        assets.url("/vendor/client.js"),
        assets.url("js/common.js"),
        assets.url("js/side.js"),
    ]
    tags = str(assets.module("js/page.js"))
    assert tags.startswith(f'<script type="module" src="{page.url}"></script>')
    assert tags.count('rel="modulepreload"') == 3


def test_an_import_cycle_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    cycle = {"js/a.js": 'import "./b.js";\n', "js/b.js": 'import "./a.js";\n'}
    with pytest.raises(AssetError, match="import cycle"):
        build(tmp_path / "cycle", cycle)
    with pytest.raises(AssetError, match="no static file"):
        build(tmp_path / "ok", APP).url("js/missing.js")


def test_gzip_is_made_once_and_only_where_it_pays(tmp_path: Path) -> None:
    assets = build(tmp_path, APP)
    css = assets.find("css/site.css")
    assert css.gzipped is not None and gzip.decompress(css.gzipped) == css.body
    assert assets.find("js/side.js").gzipped is None, "a tiny file is sent as it is"
    scope = {
        "type": "http",
        "method": "GET",
        "path": css.url,
        "headers": [(b"accept-encoding", b"gzip;q=0")],
    }
    response = assets.response(scope)
    assert response is not None
    assert "content-encoding" not in response.headers, "q=0 refuses gzip"
    assert response.headers["cache-control"] == IMMUTABLE
