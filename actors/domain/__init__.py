"""Pure money rules: no Ray, boto3, Redis or FastAPI (an import-linter contract keeps it so)."""
