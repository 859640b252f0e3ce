"""The ai-service-python template: agents behind a FastAPI app (see README.md)."""
