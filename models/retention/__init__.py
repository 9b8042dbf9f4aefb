"""Retention of children's records (issue 24): which records fall due for destruction under their
council's rule and why (`plan`), and destroying one child's rows in one transaction with its
destruction-log row (`destroy`). May import `models.access` (the tables a child's record spans),
`models.policy` (the rule), tables and the instance id; never Prefect (the engine deletes a
destroyed child's runs, engine/forget.py)."""
