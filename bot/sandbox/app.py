"""The emulator's HTTP face: Leyr's documented endpoints under /api, plus agent controls under
/api/_sandbox. Validation errors are 400 BAD_REQUEST with Leyr's envelope, never 422.

Simulated network faults (timeout, reset) are signalled from the endpoint to `SignalLayer`, the
outermost ASGI layer, which withholds the answer and raises `SimulatedNetworkFault` outside
Starlette; the in-process transport and the HTTP server each turn that into their own failure.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.sandbox import seed
from bot.sandbox.ehr import E164, MAX_COMMENT, ApiError, Ehr
from bot.sandbox.faults import (
    ALL_KINDS,
    NETWORK_KINDS,
    Fault,
    SimulatedNetworkFault,
    note_attempt,
)
from bot.sandbox.shapes import SWITCHES, Shapes

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator

log = logging.getLogger("bot.sandbox")
Handler = Callable[[Request], Awaitable[Response]]
SIGNAL = "sandbox.signal"
RESCHEDULE_FIELDS = frozenset({"start", "end", "resource_id"})
PLAIN = Shapes()  # Leyr's documented shapes, for the control endpoints


def envelope(error: ApiError, shapes: Shapes = PLAIN) -> JSONResponse:
    """Leyr's RFC 7807 style error body (or the shape a switch asks for); only codes and the
    trace id are logged."""
    instance = str(uuid.uuid4())
    log.info("sandbox error %s %s instance=%s", error.code, error.error_code, instance)
    status, body = shapes.error(error.code, error.error_code, error.status, error.details, instance)
    return JSONResponse(body, status_code=status)


def unauthorized() -> JSONResponse:
    return envelope(ApiError("UNAUTHORIZED", "bad credentials", code="UNAUTHORIZED", status=401))


class SignalLayer:
    """Outermost ASGI layer: withholds the answer of a call the endpoint marked as lost."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        signal: list[str] = []
        withheld: list[Message] = []
        scope = {**scope, SIGNAL: signal}

        async def guarded(message: Message) -> None:
            if signal:
                withheld.append(message)
            else:
                await send(message)

        await self.inner(scope, receive, guarded)
        if signal:
            raise SimulatedNetworkFault(signal[0], withheld)


def _route(request: Request) -> str:
    """The call as "GET /appointments": the matched route below the EHR and care unit."""
    path = getattr(request.scope.get("route"), "path", request.url.path)
    for prefix in ("/api/emrs/{emr}/care-units/{cu}", "/api/emrs/{emr}"):
        if path.startswith(prefix + "/"):
            path = path.removeprefix(prefix)
            break
    return f"{request.method} {path}"


def _lose_answer(request: Request, kind: str) -> None:
    signal = request.scope.get(SIGNAL)
    if signal is None:  # not behind SignalLayer: nothing can withhold the answer
        raise SimulatedNetworkFault(kind)
    signal.append(kind)


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError("BAD_INPUT", "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError("BAD_INPUT", "body must be a JSON object")
    return data


def _when(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError("BAD_INPUT", f"{name} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        raise ApiError("BAD_INPUT", f"{name} needs a UTC offset")
    return parsed


def _comment(body: dict[str, Any]) -> str | None:
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError("BAD_INPUT", "comment must be a string")
    return comment


def _name(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None or value == "":
        raise ApiError("MISSING_REQUIRED_FIELD", f"{key} is required")
    if not isinstance(value, str) or not value.strip():
        raise ApiError("BAD_INPUT", f"{key} must be a non-empty string")
    return value.strip()


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("BAD_INPUT", f"{key} must be a list of strings")
    return value


def _new_patient(body: dict[str, Any]) -> tuple[str, str, str, list[str], list[str]]:
    first, last, external = (_name(body, k) for k in ("first_name", "last_name", "external_id"))
    phones, emails = _strings(body, "phones"), _strings(body, "emails")
    if not all(E164.fullmatch(p) for p in phones):
        raise ApiError("BAD_INPUT", "phones must be E.164, e.g. +46701234567")
    if not all("@" in e for e in emails):
        raise ApiError("BAD_INPUT", "emails must be e-mail addresses")
    return first, last, external, phones, emails


def _injected(fault: Fault) -> ApiError:
    return ApiError(fault.error_code, "injected", code=fault.code, status=fault.status)


def _status_cancelled(body: dict[str, Any]) -> None:
    if "status" not in body:
        raise ApiError("MISSING_REQUIRED_FIELD", "status is required")
    if body["status"] != "cancelled":
        raise ApiError("BAD_INPUT", "status must be 'cancelled'")


def build_app(emulator: Emulator) -> SignalLayer:
    def ehr(request: Request) -> Ehr:
        emr = request.path_params["emr"]
        if emr not in emulator.ehrs:
            raise ApiError("NOT_SUPPORTED", "this EHR is not supported")
        cu = request.path_params.get("cu")
        if cu is not None and cu not in seed.CARE_UNITS:
            raise ApiError("INVALID_CARE_UNIT_ID", "unknown care unit")
        return emulator.ehrs[emr]

    def authorized(request: Request) -> bool:
        return (
            request.headers.get("x-leyr-client-id") == emulator.client_id
            and request.headers.get("x-leyr-client-secret") == emulator.client_secret
        )

    def api(handler: Callable[[Request], Awaitable[Any]], *, patch: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            shapes = emulator.shapes
            emulator.calls.append((request.method, request.url.path))
            if not authorized(request):
                return unauthorized()
            fault = emulator.faults.next()
            note_attempt(_route(request), fault)
            await emulator.wait(emulator.faults.latency_ms + (fault.ms if fault else 0))
            if fault is not None and not fault.lands:
                if fault.kind == "server_error":
                    return Response("upstream failure", status_code=503)
                if fault.kind == "error_envelope":
                    return envelope(_injected(fault), shapes)
                if fault.kind in NETWORK_KINDS:
                    _lose_answer(request, fault.kind)
                    return Response(status_code=504)
                if fault.kind == "malformed":
                    return Response(b'{"id": "trunc', media_type="application/json")
            response: Response
            try:
                response = JSONResponse(shapes.answer(await handler(request), patch=patch))
            except ApiError as error:
                response = envelope(error, shapes)
            if fault is None or fault.kind == "latency":
                return response
            if fault.kind in NETWORK_KINDS:
                _lose_answer(request, fault.kind)
            elif fault.kind == "malformed":
                return Response(b'{"id": "trunc', media_type="application/json")
            elif fault.kind == "server_error":
                return Response("upstream failure after write", status_code=500)
            elif fault.kind == "error_envelope":
                return envelope(_injected(fault), shapes)
            return response

        return endpoint

    def names_lookup(request: Request) -> None:
        ehr(request)
        if emulator.shapes.names_unsupported:
            raise ApiError("NOT_SUPPORTED", "this EHR offers no such lookup")
        if emulator.shapes.names_failing:
            raise ApiError("EMR_ERROR", "the EHR failed", code="EMR_ERROR", status=500)

    async def care_units(request: Request) -> Any:
        emulator.operations["care_units"] += 1
        names_lookup(request)
        return seed.care_units()

    async def resources(request: Request) -> Any:
        emulator.operations["resources"] += 1
        names_lookup(request)
        return seed.resources()

    async def patient(request: Request) -> Any:
        emulator.operations["patient"] += 1
        typed = emulator.shapes.original_typed(request.path_params["patient_id"])
        return ehr(request).patient(typed)

    async def patients(request: Request) -> Any:
        emulator.operations["search"] += 1
        q = request.query_params
        return ehr(request).search(q.get("first_name"), q.get("last_name"))

    async def create_patient(request: Request) -> Any:
        emulator.operations["create_patient"] += 1
        target = ehr(request)
        return target.create_patient(*_new_patient(await _body(request)))

    async def appointments(request: Request) -> Any:
        emulator.operations["list"] += 1
        target = ehr(request)
        q = request.query_params
        if not q.get("patient_id"):
            raise ApiError("MISSING_REQUIRED_FIELD", "patient_id is required")
        return target.listing(
            emulator.shapes.original_typed(q["patient_id"]),
            _when(q.get("start"), "start"),
            _when(q.get("end"), "end"),
            request.path_params["cu"],
            everyone=emulator.shapes.foreign_items,
        )

    async def patch_one(request: Request) -> Any:
        target = ehr(request)
        body = await _body(request)
        if RESCHEDULE_FIELDS & body.keys():
            raise ApiError("BAD_INPUT", "rescheduling fields are not allowed when cancelling")
        appointment_id = emulator.shapes.original(request.path_params["id"])
        emulator.operations["confirm" if "confirmation" in body else "cancel"] += 1
        if "confirmation" in body:
            confirmation = body["confirmation"]
            if "status" in body or not isinstance(confirmation, dict):
                raise ApiError("BAD_INPUT", "confirmation must be an object, sent alone")
            code = confirmation.get("code")
            if not isinstance(code, str) or not code:
                raise ApiError("MISSING_REQUIRED_FIELD", "confirmation.code is required")
            return target.confirm(appointment_id, code, request.path_params["cu"])
        _status_cancelled(body)
        comment = _comment(body)
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ApiError("INVALID_COMMENT_LENGTH", f"comment longer than {MAX_COMMENT}")
        emulator.cancel_patches[appointment_id] = emulator.cancel_patches.get(appointment_id, 0) + 1
        return target.cancel_one(appointment_id, comment, request.path_params["cu"])

    async def patch_bulk(request: Request) -> Any:
        emulator.operations["bulk_cancel"] += 1
        target = ehr(request)
        body = await _body(request)
        ids = body.get("ids")
        if ids is None or ids == []:
            raise ApiError("MISSING_REQUIRED_FIELD", "ids is required")
        if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
            raise ApiError("BAD_INPUT", "ids must be a list of ids")
        ids = [emulator.shapes.original(str(i)) for i in ids]
        limit = target.profile.max_bulk
        if limit is None:
            raise ApiError("NOT_SUPPORTED", "this EHR cancels one appointment at a time")
        if len(ids) > limit:
            raise ApiError("MAX_ITEMS_EXCEEDED", f"at most {limit} ids")
        if RESCHEDULE_FIELDS & body.keys():
            raise ApiError("BAD_INPUT", "rescheduling fields are not allowed when cancelling")
        _status_cancelled(body)
        comment = _comment(body)
        for appointment_id in ids:
            emulator.cancel_patches[appointment_id] = (
                emulator.cancel_patches.get(appointment_id, 0) + 1
            )
        return target.cancel(ids, comment, request.path_params["cu"])

    def control(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            try:
                return JSONResponse(await handler(request))
            except ApiError as error:
                return envelope(error)
            except (TypeError, ValueError, KeyError):
                return envelope(ApiError("BAD_INPUT", "bad control request"))

        return endpoint

    async def reset(request: Request) -> Any:
        emulator.reset()
        return {"ok": True}

    async def outbox(request: Request) -> Any:
        return [
            {
                "phone": s.phone,
                "appointment_id": s.appointment_id,
                "pending_id": s.pending_id,
                "code": s.code,
                "text": s.text,
                "sent_at": s.sent_at.isoformat(),
            }
            for s in emulator.outbox(request.query_params.get("phone"))
        ]

    async def profile(request: Request) -> Any:
        emr = request.path_params["emr"]
        if emr not in emulator.ehrs:
            raise ApiError("NOT_SUPPORTED", "this EHR is not supported")
        body = await _body(request)
        emulator.set_profile(emr, body.get("cancellation"), body.get("listing"))
        current = emulator.ehrs[emr].profile
        return {"cancellation": current.cancellation, "listing": current.listing}

    async def faults(request: Request) -> Any:
        if request.method == "DELETE":
            emulator.clear_faults()
            return {"ok": True}
        body = await _body(request)
        if body.get("kind") not in ALL_KINDS:
            raise ApiError("BAD_INPUT", f"kind must be one of {', '.join(ALL_KINDS)}")
        emulator.inject(Fault(**body))
        return {"ok": True}

    async def latency(request: Request) -> Any:
        emulator.set_latency(int((await _body(request))["ms"]))
        return {"ok": True}

    async def random_faults(request: Request) -> Any:
        body = await _body(request)
        emulator.set_random_faults(float(body["probability"]), int(body.get("seed", 0)))
        return {"ok": True}

    async def shape_switches(request: Request) -> Any:
        body = await _body(request)
        for name, on in body.items():
            if name not in SWITCHES or not isinstance(on, bool):
                raise ApiError("BAD_INPUT", f"switches are {', '.join(SWITCHES)}, each true/false")
            emulator.shapes.set(name, on)
        return {name: name in emulator.shapes.on() for name in SWITCHES}

    async def operations(request: Request) -> Any:
        return dict(emulator.operations)

    async def test_patients(request: Request) -> Any:
        return [
            {"personal_number": p.personal_number, "label": p.label}
            for p in emulator.test_patients()
        ]

    unit = "/api/emrs/{emr}/care-units/{cu}"
    routes = [
        Route("/api/emrs/{emr}/care-units", api(care_units), methods=["GET"]),
        Route(f"{unit}/resources", api(resources), methods=["GET"]),
        Route(f"{unit}/patients", api(patients), methods=["GET"]),
        Route(f"{unit}/patients", api(create_patient), methods=["POST"]),
        Route(f"{unit}/patients/{{patient_id}}", api(patient), methods=["GET"]),
        Route(f"{unit}/appointments", api(appointments), methods=["GET"]),
        Route(f"{unit}/appointments", api(patch_bulk, patch=True), methods=["PATCH"]),
        Route(f"{unit}/appointments/{{id}}", api(patch_one, patch=True), methods=["PATCH"]),
        Route("/api/_sandbox/reset", control(reset), methods=["POST"]),
        Route("/api/_sandbox/outbox", control(outbox), methods=["GET"]),
        Route("/api/_sandbox/emrs/{emr}/profile", control(profile), methods=["PUT"]),
        Route("/api/_sandbox/faults", control(faults), methods=["POST", "DELETE"]),
        Route("/api/_sandbox/latency", control(latency), methods=["PUT"]),
        Route("/api/_sandbox/shapes", control(shape_switches), methods=["PUT"]),
        Route("/api/_sandbox/random-faults", control(random_faults), methods=["PUT"]),
        Route("/api/_sandbox/test-patients", control(test_patients), methods=["GET"]),
        Route("/api/_sandbox/operations", control(operations), methods=["GET"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return envelope(ApiError("NOT_SUPPORTED", "no such endpoint", code="NOT_FOUND", status=404))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return envelope(
            ApiError("NOT_SUPPORTED", "method not allowed", code="METHOD_NOT_ALLOWED", status=405)
        )

    starlette = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return SignalLayer(starlette)
