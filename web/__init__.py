"""The web pages: the citizen app at `/` (and later the counter console at `/officer`), server-rendered with Jinja2,
progressively enhanced with htmx. Pages call the same domain services as `api/`, never the API over HTTP."""
