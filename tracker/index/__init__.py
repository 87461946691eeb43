"""The index: a disposable projection of the tracker's files for fast queries."""
