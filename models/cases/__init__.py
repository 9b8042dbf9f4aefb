"""The case store: accepting an event in one transaction (`store`), the derived rows (`history`,
`ledger`), reads and the case run's view (`reads`, `view`), `cin case show`'s read in SQLAlchemy
Core (`show`), the per-case lock, the outbox's rows, finding a child's case (`lookup`) and the
rebuild check. May import `models.lifecycle`, `models.policy` and the shared top-level modules
(tables, core_tables, fields, settings); never Prefect."""
