"""Ballot codes: one-time codes on printed cards, so that one person is one voter."""
