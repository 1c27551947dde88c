"""The Pulse portal: report subscriptions for the people who run and receive them (pulse/portal/app.py)."""
