"""The analysis stage: queries over the table, statistics, certainty rules and the summary data
that pages are written from."""
