"""What every package of Pulse imports: settings, console, generated secrets, process supervision. Imports nothing of Pulse."""
