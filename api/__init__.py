"""The HTTP API for recording systems (`cin api`): FastAPI over the same accept transaction as the
CLI (models/store.py through engine/ingest.py). Nothing here decides what is legal: it
authenticates the caller, checks its key's authority and scope, limits what it may send, and
hands the event to the store. docs/http-api.md describes every route."""
