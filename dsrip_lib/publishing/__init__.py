"""Publishing report tables: the publisher, small-cell suppression, the chart theme."""
