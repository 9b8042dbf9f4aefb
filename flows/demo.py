"""`make demo`: the engine at work on a simulated caseload (see README)."""

from __future__ import annotations

from flows.explain_demo import explain_examples


def main() -> None:
    print("Deadlines under the seed authorities' policies, with their reasons:\n")
    for line in explain_examples():
        print(line)


if __name__ == "__main__":
    main()
