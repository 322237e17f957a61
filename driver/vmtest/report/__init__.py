"""The run report model and its pure renderers: console, JSON, JUnit, Markdown, GitHub."""
