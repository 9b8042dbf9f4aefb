"""An alert's id is uuid5 of its key: the exactly-once rule (one row per key, whichever pass
raised it, before or after an upgrade) holds only if `alert_id` never changes its answer."""

from __future__ import annotations

import uuid

from models.alerts.dispatch import ALERT_NAMESPACE, alert_id

KEYS = [
    "",
    "WK-00001/visit#3|2|overdue|email:staff:wk-tm-003",
    "WK-00001/drift/plan_unchanged|1|drift|none:nobody:service_manager",
    "LE-123456/review#12|0|due_soon|teams:team:Leeds Nörth 7",  # non-ASCII team names
    "x" * 240,
]


def test_alert_id_is_uuid5_of_the_key() -> None:
    for key in KEYS:
        expected = uuid.uuid5(ALERT_NAMESPACE, key)
        got = alert_id(key)
        assert got == expected, key
        assert (got.version, got.variant) == (5, uuid.RFC_4122)


def test_different_keys_have_different_ids() -> None:
    assert len({alert_id(key) for key in KEYS}) == len(KEYS)
