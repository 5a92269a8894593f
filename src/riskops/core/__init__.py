"""The shared kernel: facts and helpers every domain package speaks."""
