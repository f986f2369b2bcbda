"""The forum model: pure Python, no I/O, no asyncio.

Commands go in, events come out; applying the events changes the state. Everything that decides
who may do what, and what a tally is, lives here and is tested without a server.
"""
