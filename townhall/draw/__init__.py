"""`townhall draw`: a citizens' jury drawn by lot from the applicants, balanced by quotas, and
checkable by anyone from the seed and the public input (docs/draw.md).

`pool.py` reads and checks the input, `commitment.py` handles the seed, `lottery.py` (the only
module that imports sortition-algorithms) computes the lottery and picks from it, `worker.py`
runs that computation where it is reproducible, `report.py` builds the report, and `run.py`
(`run_draw`, `prepare`) puts them together. Nothing is imported here, so that `townhall draw
--commit` and a report's reader run without the library.
"""
