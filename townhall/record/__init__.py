"""The public record: a forum's log with pseudonyms for participants and a hash chain, in the
format docs/record.md specifies, so anyone can check it without Townhall's code."""
