"""Ofsted's Annex A lists (issue 22), derived from the same event log as the census return.

`spec` (the sheets, headers and codes as liiatools 0.2.0's Annex A specification has them),
`period` (the six months and twelve months counted back from the as-of date), `rows` (one
child's rows of lists 3 to 7, pure: the census's fold of each case's log, plus what the census
does not keep), `export` (the workbook or CSV files, streamed a child at a time).

May import `models.census` (its log reader and fold), `models.lifecycle`, `models.policy`,
tables and `models.output_file`.
"""
