"""Many forums on one server: each forum's parts (`runtime.py`), the forums the server holds
and their changes (`directory.py`), and what the console asks of them."""
