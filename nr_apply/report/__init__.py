"""Reports for people (rich console) and pipelines (JSON, Markdown, JUnit)."""
