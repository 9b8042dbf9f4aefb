"""The demo and everything only it and the tests need: caseload generators, and local Prefect,
SMTP and Teams-like servers on loopback."""
