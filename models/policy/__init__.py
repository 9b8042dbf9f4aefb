"""An authority's timescale policy: the YAML file format (`schema`), loading and checking a policy
folder (`loading`), the version in force on a day (`resolved`, `book`), comparing versions
(`diff`, `change`) and the clock vocabulary the lifecycle counts with (`timescales`).
Pure (no database, no Prefect, no wall clock); may import `calendars/` and `models.fields` only."""
