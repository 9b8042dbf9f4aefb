"""The engine instance: one case database is one instance, with an id of its own.

`cin init` (any migration to 0006 or later) gives the database an id. Everything the engine puts
on a Prefect server carries it, so two case databases can share one server without seeing or
touching each other, and a database recreated in the same folder is a new instance whose runs,
cache and artifacts start empty. The key builders live here, together, so every part of the
engine spells a key the same way.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text

# 12 hex digits (48 bits): short enough for artifact keys and tags people read in the UI; two
# instances on one server collide with odds of about 1 in 10^14.
SHORT = 12


def instance_id(engine: Engine) -> str:
    """The short id of the instance this case database is. Read once per database connection
    and kept with it: a database recreated under the same URL is a new instance, reached over
    new connections (the id is asked for several times an event)."""
    with engine.connect() as conn:
        info = conn.connection.info  # lives and dies with the DBAPI connection
        if "cin_instance" not in info:
            value = conn.execute(text("SELECT id FROM engine_instance")).scalar_one()
            info["cin_instance"] = uuid.UUID(str(value)).hex[:SHORT]
        return str(info["cin_instance"])


def run_idempotency_key(instance: str, case_ref: str) -> str:
    """Prefect returns the existing run for this key: concurrent deliveries make one run."""
    return f"cin-{instance}-case-{case_ref}"


def event_cache_key(instance: str, case_ref: str, seq: int) -> str:
    return f"cin-{instance}-case-{case_ref}-event-{seq}"


def case_artifact_key(instance: str, case_ref: str) -> str:
    """The key of the case's timeline artifact (lowercase letters, digits and dashes only)."""
    return f"case-{instance}-{case_ref.lower()}"


def monitor_artifact_key(instance: str) -> str:
    """The deadline monitor's overdue-by-team table of this instance."""
    return f"overdue-by-team-{instance}"


def overdue_cases_artifact_key(instance: str) -> str:
    """The monitor's table of every overdue deadline, case by case (tasks/monitor_work.py)."""
    return f"overdue-cases-{instance}"


def reconciler_artifact_key(instance: str) -> str:
    """What this instance's last reconciler pass delivered and healed."""
    return f"cin-reconciler-{instance}"


def report_artifact_key(instance: str) -> str:
    """The council report's headline table of this instance."""
    return f"council-report-{instance}"


def instance_tag(instance: str) -> str:
    return f"cin-instance:{instance}"


def work_queue_name(instance: str) -> str:
    """The case pool's work queue that only this instance's runs go to and its workers poll."""
    return f"cin-{instance}"


def reconciler_deployment_name(instance: str) -> str:
    """This instance's reconciler deployment: two case databases' `cin serve` on one Prefect
    server each serve and run their own (issue 26: one shared name starved one council)."""
    return f"reconciler-{instance}"


def monitor_deployment_name(instance: str) -> str:
    """This instance's deadline-monitor deployment (and so its own schedule)."""
    return f"deadline-monitor-{instance}"
