"""The public record of a forum: everything that happened in it, hash-chained (docs/record.md)."""
