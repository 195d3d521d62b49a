"""Quote editor and sales report pieces (SPEC S2–S4), used by the full pages and the console's right column."""
