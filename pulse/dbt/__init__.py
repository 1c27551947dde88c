"""dbt as Pulse runs it: the session that builds the marts (and plans the hourly build), and the docs site."""
