"""`cin policy whatif`: replay open cases under another policy (`replay`, pure) and read the live
caseload it replays (`load`, read-only). May import `models.lifecycle`, `models.policy`,
`models.alerts` and the shared top-level modules."""
