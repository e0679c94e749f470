"""The HTTP service (FastAPI): screening API, list management, authentication, operations."""
