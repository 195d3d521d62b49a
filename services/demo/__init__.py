"""Demo data: a generated auto-parts catalog and the seed that loads it for `make run`."""
