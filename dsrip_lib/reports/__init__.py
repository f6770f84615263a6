"""One module per registered report: its options model, its tables and the choices it makes."""
