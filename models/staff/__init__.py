"""A council's staff: the roster file and who manages whom (`roster`, pure), and the staff rows,
caseload allocation and the monitor's staff reads in the database (`store`). May import
`models.policy`, `models.cases` and the shared top-level modules."""
