"""The HTTP side: the Ray Serve ingress (FastAPI), its settings, schemas, errors and routes."""
