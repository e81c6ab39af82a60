"""Small, complete programs built on the gateway toolkit (see docs/writing-an-adapter.md)."""
