"""Serve the reconciler deployment on its schedule (started by `cin serve`)."""

from __future__ import annotations

from datetime import timedelta

from flows.delivery import case_deployment_id
from flows.reconciler import reconcile

if __name__ == "__main__":
    case_deployment_id()  # the case deployment must exist before any case run is created
    reconcile.serve(name="reconciler", interval=timedelta(minutes=1), tags=["cin"])
