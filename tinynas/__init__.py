"""TinyNAS: search, train and export models that fit a board (see the TinyNAS issue)."""
