"""What a programme made in the console may not do: name other files. A candidates sheet, a
ballot-code book or a draw report lives beside a programme file on the server's disk; a forum
that needs one is served from its file (`townhall serve FILE`)."""

from __future__ import annotations

from townhall.programme_fields import FieldReader, ProgrammeError, read_toml

MAX_PROGRAMME_BYTES = 256 * 1024  # the seed's programmes are under 10 KiB


def check_console_programme(text: str, source: str) -> None:
    """Raise ProgrammeError, naming the line and field, if `text` names another file."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PROGRAMME_BYTES:
        raise ProgrammeError(
            source, None, "", f"a programme is at most {MAX_PROGRAMME_BYTES} bytes"
        )
    data = read_toml(text, source)
    reader = FieldReader(text, source)
    selection = data.get("selection")
    if isinstance(selection, dict) and "candidates_csv" in selection:
        raise reader.fail(
            "selection.candidates_csv",
            "a forum made in the console lists its candidates in the programme"
            " ([[selection.candidates]]); a CSV file is for a forum served from its file",
        )
    eligibility = data.get("eligibility")
    if isinstance(eligibility, dict):
        if eligibility.get("mode") == "codes" or "codes" in eligibility:
            raise reader.fail(
                "eligibility.mode",
                "a forum with ballot codes is served from its programme file, beside the code"
                " book `townhall codes` makes",
            )
        if "draw" in eligibility:
            raise reader.fail(
                "eligibility.draw", "a draw report is read beside a programme file, not here"
            )
