"""Who did what: the actor each event records (`actors`), the HTTP API's keys (`keys`) and the
access log (`audit`). May import tables, core_tables, fields and settings only."""
