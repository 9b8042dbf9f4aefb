"""Alert rows the deadline monitor raises, escalates and sends once (`store`), written a set at a
time (`bulk`). May import `models.staff` and the shared top-level modules; never Prefect."""
