"""Similar cases: an embedding per record, nearest-neighbour search behind one port."""
