"""The bounds of an agenda's items: read by the programme loader and by the host's changes on
the day alike, so an item added live is held to what a programme file may hold."""

MAX_ITEMS = 200  # agenda items
# Items the host adds on the day: a day's improvising, bounded so that a stolen host key cannot
# grow the state every phone is sent without end.
MAX_ADDED_ITEMS = 40
MAX_OPTIONS = 12  # a poll's options
TITLE = 200  # an item's title, in characters
NOTES = 4000  # an item's notes for the host
QUESTION = 300  # a poll's question
LABEL = 200  # a poll option's label
