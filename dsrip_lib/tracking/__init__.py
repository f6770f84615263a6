"""Program targets against actuals: driver diagrams and a program's goal table, statuses and roll-ups."""
