"""The DfE children in need census return, derived from the event log (issue 10).

`codes` (the child's code lists), `child` (the personal data the return needs, validated),
`episodes` (a pure fold of one case's log into its census episode as at the reference date),
`source` (streams children and their logs from the case database), `writer` (the XML, streamed in
the XSD's element order) and `dfe_rules` (the DfE's rules, run in a venv of their own).
"""
