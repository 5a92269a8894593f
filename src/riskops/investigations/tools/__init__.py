"""The investigation's tools: each a small module with a typed input and output."""
