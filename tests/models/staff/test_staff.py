"""Staff files (models/staff/roster.py): every problem named by line and field; routing up the
chain."""

from __future__ import annotations

import pytest

from models.policy.parts import Role
from models.staff.roster import Person, StaffFileError, StaffRow, manager_with_role, parse_staff_csv

HEADER = "staff_id,name,email,role,team,manager_id\n"
GOOD = [
    "H1,Hana Head,h1@council.gov.uk,head_of_service,,",
    "S1,Sam Service,s1@council.gov.uk,service_manager,,H1",
    "T1,Tia Team,t1@council.gov.uk,team_manager,cin-east,S1",
    "W1,Wes Worker,w1@council.gov.uk,worker,cin-east,T1",
]


def csv_text(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def problems_of(text: str) -> list[str]:
    with pytest.raises(StaffFileError) as caught:
        parse_staff_csv(text)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_a_good_file_parses_in_order() -> None:
    rows = parse_staff_csv(csv_text(*GOOD))
    assert [r.staff_id for r in rows] == ["H1", "S1", "T1", "W1"]
    worker = rows[3]
    assert worker == StaffRow(
        staff_id="W1",
        name="Wes Worker",
        email="w1@council.gov.uk",
        role=Role.WORKER,
        team="cin-east",
        manager_id="T1",
        line=5,
    )
    assert rows[0].team is None and rows[0].manager_id is None
    with pytest.raises(AttributeError):
        worker.team = "cin-west"  # type: ignore[misc]


def test_bom_trailing_whitespace_quoting_and_blank_lines_are_tolerated() -> None:
    text = (
        "\ufeffstaff_id,name,email,role,team,manager_id  \r\n"
        + "\r\n".join(GOOD[:3])
        + "\r\n\r\n"
        + 'W1 ,"Worker, Wes",w1@council.gov.uk ,worker,cin-east,T1\r\n'
    )
    rows = parse_staff_csv(text)
    assert [(r.staff_id, r.name, r.email, r.line) for r in rows][-1] == (
        "W1",
        "Worker, Wes",
        "w1@council.gov.uk",
        6,
    )


@pytest.mark.parametrize(
    "header",
    [
        "staff_id,name,email,role,team\n",
        "name,staff_id,email,role,team,manager_id\n",
        "staff_id,name,email,role,team,manager_id,extra\n",
        "",
    ],
)
def test_the_header_must_be_exact(header: str) -> None:
    (problem,) = problems_of(header + GOOD[0] + "\n")
    assert problem.startswith("line 1: header must be exactly staff_id,name,email,role,team,")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (",Nobody,n@council.gov.uk,worker,cin-east,T1", "line 6: staff_id is empty"),
        ("X" * 65 + ",Long,l@council.gov.uk,worker,cin-east,T1", "line 6: staff_id is 65 char"),
        ("W1,Twin,w9@council.gov.uk,worker,cin-east,T1", "line 6: staff_id 'W1' is already on "
         "line 5"),
        ("W2,Wyn,not-an-address,worker,cin-east,T1", "line 6: email does not look like an address"),
        ("W2,Wyn,,worker,cin-east,T1", "line 6: email is empty"),
        ("W2,,w2@council.gov.uk,worker,cin-east,T1", "line 6: name is empty"),
        (
            "W2,Wyn,w2@council.gov.uk,manger,cin-east,T1",
            "line 6: role 'manger' is not one of worker, team_manager, service_manager, "
            "head_of_service",
        ),
        ("W2,Wyn,w2@council.gov.uk,worker,,T1", "line 6: team is empty (expected the team of "
         "this worker)"),
        ("T2,Tam,t2@council.gov.uk,team_manager,,S1", "line 6: team is empty (expected the team "
         "of this team_manager)"),
        ("W2,Wyn,w2@council.gov.uk,worker,cin-east,T9", "line 6: manager_id 'T9' is not a "
         "staff_id in this file"),
        ("W2,Wyn,w2@council.gov.uk,worker,cin-east,W2", "line 6: manager_id 'W2' is the row's "
         "own staff_id"),
        ("W2,Wyn,w2@council.gov.uk,worker,cin-east,S1", "line 6: manager_id 'S1' is a "
         "service_manager (a worker's manager must be a team_manager)"),
        ("T2,Tam,t2@council.gov.uk,team_manager,cin-west,H1", "line 6: manager_id 'H1' is a "
         "head_of_service (a team_manager's manager must be a service_manager)"),
        ("S2,Sol,s2@council.gov.uk,service_manager,,T1", "line 6: manager_id 'T1' is a "
         "team_manager (a service_manager's manager must be a head_of_service)"),
        ("H2,Hal,h2@council.gov.uk,head_of_service,,S1", "line 6: manager_id 'S1' given for a "
         "head_of_service (expected empty"),
        ("W2,Wyn,w2@council.gov.uk,worker,cin-east", "line 6: expected 6 fields"),
    ],
)  # fmt: skip
def test_each_problem_names_its_line_and_field(line: str, expected: str) -> None:
    (problem,) = problems_of(csv_text(*GOOD, line))
    assert problem.startswith(expected), problem


def test_problems_never_quote_a_name_or_an_address() -> None:
    problems = problems_of(csv_text(*GOOD, "W2,Wyn Secret,wyn.secret(at)mail,worker,cin-east,T1"))
    assert problems == [
        "line 6: email does not look like an address (expected name@council.gov.uk)"
    ]
    assert "secret" not in "\n".join(problems).lower()


def test_every_problem_is_gathered_in_line_order() -> None:
    problems = problems_of(
        csv_text(
            "W1,Wes,w1@council.gov.uk,worker,,T1",  # line 2: no team; T1 is not a team_manager
            "T1,Tia,bad,manager,cin-east,",  # line 3: email, role
            "W1,Wes,w1@council.gov.uk,worker,cin-east,T1",  # line 4: duplicate
        )
    )
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 3", "line 4"]
    assert "team is empty" in problems[0]
    assert "email" in problems[1]
    assert "role 'manager'" in problems[2]
    assert "staff_id 'W1' is already on line 2" in problems[3]


def test_manager_cycles_are_refused_once() -> None:
    # the role ladder already forbids most cycles; a cycle among same-role rows is reported too
    problems = problems_of(
        csv_text(
            "S1,Sam,s1@council.gov.uk,service_manager,,S2",
            "S2,Sue,s2@council.gov.uk,service_manager,,S3",
            "S3,Sid,s3@council.gov.uk,service_manager,,S1",
        )
    )
    cycle = [p for p in problems if "cycle" in p]
    assert cycle == ["line 2: manager_id makes a cycle (S1 -> S2 -> S3 -> S1)"]


def test_a_roster_needs_at_least_one_row() -> None:
    assert problems_of(HEADER)[0].startswith("line 2: no staff rows")


def test_unclosed_quotes_are_reported() -> None:
    problems = problems_of(csv_text(*GOOD, 'W2,"Wyn,w2@council.gov.uk,worker,cin-east,T1'))
    assert problems[-1].startswith("line 6: ")


# -- routing ----------------------------------------------------------------------------------


def directory(*people: Person) -> dict[str, Person]:
    return {p.staff_id: p for p in people}


ORG = directory(
    Person("H1", "head_of_service", None, None),
    Person("S1", "service_manager", None, "H1"),
    Person("T1", "team_manager", "cin-east", "S1"),
    Person("T0", "team_manager", "cin-west", "S1"),
    Person("W1", "worker", "cin-east", "T1"),
)


def who(people: dict[str, Person], start: str | None, team: str | None, role: str) -> str | None:
    person = manager_with_role(people, start, team, role)
    return None if person is None else person.staff_id


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("worker", "W1"),
        ("team_manager", "T1"),
        ("service_manager", "S1"),
        ("head_of_service", "H1"),
    ],
)
def test_up_the_chain_from_the_allocated_worker(role: str, expected: str) -> None:
    # the case's team says cin-west, but the worker's own chain wins
    assert who(ORG, "W1", "cin-west", role) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("worker", None), ("team_manager", "T1"), ("service_manager", "S1")],
)
def test_an_unallocated_case_starts_from_its_teams_manager(role: str, expected: str) -> None:
    assert who(ORG, None, "cin-east", role) == expected
    assert who(ORG, "W404", "cin-east", role) == expected  # unknown worker: as unallocated


def test_an_inactive_worker_counts_as_unallocated() -> None:
    people = {**ORG, "W1": Person("W1", "worker", "cin-east", "T1", active=False)}
    assert who(people, "W1", "cin-west", "worker") is None
    assert who(people, "W1", "cin-west", "team_manager") == "T0"


def test_the_teams_first_active_manager_by_id() -> None:
    people = {
        **ORG,
        "T2": Person("T2", "team_manager", "cin-east", "S1"),
        "T1": Person("T1", "team_manager", "cin-east", "S1", active=False),
        "T3": Person("T3", "team_manager", "cin-east", "S1"),
    }
    assert who(people, None, "cin-east", "team_manager") == "T2"
    assert who(people, None, "nowhere", "team_manager") is None
    assert who(people, None, None, "service_manager") is None


def test_inactive_managers_are_passed_over() -> None:
    people = {
        **ORG,
        "T1": Person("T1", "team_manager", "cin-east", "S1", active=False),
        "S1": Person("S1", "service_manager", None, "H1", active=False),
    }
    assert who(people, "W1", None, "team_manager") is None  # nobody else above W1 holds it
    assert who(people, "W1", None, "service_manager") is None
    assert who(people, "W1", None, "head_of_service") == "H1"


def test_a_team_manager_holding_a_case_is_its_worker_and_its_team_manager() -> None:
    assert who(ORG, "T1", "cin-east", "worker") == "T1"
    assert who(ORG, "T1", "cin-east", "team_manager") == "T1"
    assert who(ORG, "T1", "cin-east", "service_manager") == "S1"


def test_nobody_with_the_role_and_a_broken_chain_give_none() -> None:
    people = directory(
        Person("W1", "worker", "cin-east", "T9"),  # T9 is not in the directory
        Person("T1", "team_manager", "cin-east", None),
    )
    assert who(people, "W1", "cin-east", "team_manager") is None
    assert who(people, None, "cin-east", "service_manager") is None


def test_a_cycle_ends_the_walk() -> None:
    people = directory(
        Person("W1", "worker", "cin-east", "T1"),
        Person("T1", "team_manager", "cin-east", "T2"),
        Person("T2", "team_manager", "cin-east", "T1", active=False),
    )
    assert who(people, "W1", "cin-east", "head_of_service") is None
    assert who(people, "W1", "cin-east", "team_manager") == "T1"


def test_parsed_rows_route_as_well() -> None:
    rows = {r.staff_id: r for r in parse_staff_csv(csv_text(*GOOD))}
    person = manager_with_role(rows, "W1", "cin-east", "service_manager")
    assert person is not None and person.staff_id == "S1"
