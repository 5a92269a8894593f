"""Process roles: what the API process runs, what the worker process runs, and who supervises."""
