"""The dialog's states and the moves between them: the one place that says which moves exist.

`MOVES` is the whole table, one line a move, labelled with what the patient does. A step changes
state only through `check` (via `Turn.move`), so a move not in the table raises `IllegalMove`
instead of happening. The `transitions` machine built from the table answers that question and
draws the README's diagram; no conversation object is ever bound to it.
"""

from __future__ import annotations

from transitions import Machine
from transitions.extensions import GraphMachine

IDLE = "idle"
IDENTIFY_CONTACT = "identify_contact"
IDENTIFY_NUMBER = "identify_number"
PICK_TEST_PATIENT = "pick_test_patient"
CHOOSE = "choose"
CONFIRM = "confirm"
REASON = "reason"
AWAITING_CODE = "awaiting_code"
OUTCOME = "outcome"
FORGET = "forget"

STATES = [
    IDLE,
    IDENTIFY_CONTACT,
    IDENTIFY_NUMBER,
    PICK_TEST_PATIENT,
    CHOOSE,
    CONFIRM,
    REASON,
    AWAITING_CODE,
    OUTCOME,
    FORGET,
]
ANY = "*"
RESTART = "sends /start or /stop"
FORGET_ME = "sends /forget"

# (from, to, what the patient does). /start passes through idle: it is a restart, then a start.
MOVES: tuple[tuple[str, str, str], ...] = (
    (ANY, IDLE, RESTART),
    (ANY, FORGET, FORGET_ME),  # then idle again: erased after one confirm, or kept
    (IDLE, IDENTIFY_CONTACT, "starts, not yet known"),
    (IDLE, PICK_TEST_PATIENT, "starts a sandbox chat"),
    (IDLE, CHOOSE, "starts, already known"),
    (IDLE, OUTCOME, "starts, nothing to list"),
    (IDENTIFY_CONTACT, IDENTIFY_NUMBER, "shares own phone"),
    (IDENTIFY_NUMBER, CHOOSE, "types a matching personal number"),
    (IDENTIFY_NUMBER, OUTCOME, "is known, nothing to list"),
    (PICK_TEST_PATIENT, CHOOSE, "picks a test patient"),
    (PICK_TEST_PATIENT, OUTCOME, "picks, nothing to list"),
    (CHOOSE, CONFIRM, "picks appointments"),
    (CHOOSE, AWAITING_CODE, "picks one waiting for its code"),
    (CHOOSE, PICK_TEST_PATIENT, "switches test patient"),
    (CONFIRM, REASON, "adds a reason"),
    (REASON, CONFIRM, "types or skips the reason"),
    (CONFIRM, CHOOSE, "keeps them"),
    (CONFIRM, AWAITING_CODE, "confirms, SMS code sent"),
    (CONFIRM, OUTCOME, "confirms, done"),
    (AWAITING_CODE, AWAITING_CODE, "types a code, or asks a new one"),
    (AWAITING_CODE, OUTCOME, "types the code, or keeps it"),
    (OUTCOME, CHOOSE, "tries again, list changed"),
    (OUTCOME, AWAITING_CODE, "tries again, SMS code sent"),
    (OUTCOME, OUTCOME, "checks again"),
    (OUTCOME, PICK_TEST_PATIENT, "switches test patient"),
)


class IllegalMove(Exception):
    """A step tried a move that `MOVES` does not list: a bug, never the patient's doing."""


def _transitions() -> list[dict[str, str]]:
    return [{"trigger": label, "source": a, "dest": b} for a, b, label in MOVES]


_MACHINE = Machine(
    model=None, states=STATES, transitions=_transitions(), initial=IDLE, auto_transitions=False
)
_LEGAL = frozenset(
    (source, t.dest)
    for source in STATES
    for t in _MACHINE.get_transitions(source=source)
    if t.dest is not None
)


def check(source: str, dest: str) -> None:
    """Raise IllegalMove unless the table allows moving from `source` to `dest`."""
    if (source, dest) not in _LEGAL:
        raise IllegalMove(f"{source} -> {dest}")


def asks_contact(state: str) -> bool:
    """The step waits for the patient's own phone (the adapter keeps its share button)."""
    return state == IDENTIFY_CONTACT


def awaits_code(state: str) -> bool:
    """The step waits for an SMS code (a wake-up may be due when it expires)."""
    return state == AWAITING_CODE


def mermaid() -> str:
    """The state diagram in mermaid, drawn from the same table; the restart edge from every
    state is one note instead of nine arrows (and so is /forget's)."""
    graph = GraphMachine(
        states=STATES,
        transitions=[t for t in _transitions() if t["source"] != ANY],
        initial=IDLE,
        auto_transitions=False,
        graph_engine="mermaid",
        title="Cancellation dialog",
    )
    lines = [
        line
        for line in str(graph.get_combined_graph().draw(None)).splitlines()
        if not line.strip().startswith(("classDef", "Class "))
    ]
    lines.append(f"  note right of {IDLE}: from any step, the patient {RESTART}")
    lines.append(f"  note right of {FORGET}: from any step, the patient {FORGET_ME}")
    return "\n".join(line.rstrip() for line in lines if line.strip()) + "\n"
