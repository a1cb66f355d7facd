"""Everything that touches the outside world, adapted to the dialog (`dialogs`).

`runtime` wires settings, storage (`store`), the Leyr client (`leyr`) and the sandbox
(`sandbox`) into an `engine.Engine`; the adapters are `telegram` (the long-polling service)
and `console` (the terminal chat); `bench` measures the whole; `python -m bot` is the CLI.
"""
