"""The dialog's states and the moves between them: the one place that says which moves exist.

`Conversation` (dialogs.conversation) is the model; every state change goes through a trigger
here, so a move the design does not allow raises instead of happening.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from transitions.extensions import GraphMachine
from transitions.extensions.asyncio import AsyncMachine

IDLE = "idle"
IDENTIFY_CONTACT = "identify_contact"
IDENTIFY_NUMBER = "identify_number"
PICK_TEST_PATIENT = "pick_test_patient"
CHOOSE = "choose"
CONFIRM = "confirm"
REASON = "reason"
AWAITING_CODE = "awaiting_code"
OUTCOME = "outcome"

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
]
UNIDENTIFIED = [IDLE, IDENTIFY_CONTACT, IDENTIFY_NUMBER, PICK_TEST_PATIENT]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "ask_contact", "source": [*UNIDENTIFIED, OUTCOME], "dest": IDENTIFY_CONTACT},
    {"trigger": "contact_accepted", "source": IDENTIFY_CONTACT, "dest": IDENTIFY_NUMBER},
    {
        "trigger": "offer_test_patients",
        "source": [*UNIDENTIFIED, CHOOSE, OUTCOME],
        "dest": PICK_TEST_PATIENT,
    },
    {
        "trigger": "show_list",
        "source": [s for s in STATES if s != IDENTIFY_CONTACT],
        "dest": CHOOSE,
    },
    {"trigger": "pick", "source": CHOOSE, "dest": CONFIRM},
    {"trigger": "ask_reason", "source": CONFIRM, "dest": REASON},
    {"trigger": "reason_given", "source": REASON, "dest": CONFIRM},
    {
        "trigger": "await_code",
        "source": [CHOOSE, CONFIRM, AWAITING_CODE, OUTCOME],
        "dest": AWAITING_CODE,
    },
    {
        "trigger": "conclude",
        "source": [s for s in STATES if s != IDENTIFY_CONTACT],
        "dest": OUTCOME,
    },
    {"trigger": "stop", "source": STATES, "dest": IDLE},
]

MACHINE = AsyncMachine(
    model=None,
    states=STATES,
    transitions=TRANSITIONS,
    initial=IDLE,
    auto_transitions=False,
    ignore_invalid_triggers=False,
)


@contextmanager
def on_machine(model: Any) -> Iterator[None]:
    """`model` on the shared machine, from its own `state`, for one step.

    transitions leaves the triggers it bound on a model after `remove_model`, each a partial that
    holds the model: a reference cycle that only the garbage collector frees, after the model was
    promoted if its step waited on the clinic. Unbinding them frees it on the spot."""
    unbound = set(vars(model))
    MACHINE.add_model(model, initial=model.state)
    bound = set(vars(model)) - unbound
    try:
        yield
    finally:
        MACHINE.remove_model(model)
        for name in bound:
            delattr(model, name)


def mermaid() -> str:
    """The state diagram in mermaid, drawn from the same states and transitions."""
    graph = GraphMachine(
        states=STATES,
        transitions=TRANSITIONS,
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
    return "\n".join(line.rstrip() for line in lines if line.strip()) + "\n"
