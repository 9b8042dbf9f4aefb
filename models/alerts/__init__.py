"""Alert rows the deadline monitor raises and marks (`store`), the alert outbox that sends each
message once (`dispatch`), written a set at a time (`bulk`). May import only the shared
top-level modules (tables); never Prefect, never the other rooms."""
