"""The emulator's HTTP face: Leyr's documented endpoints under /api, plus agent controls under
/api/_sandbox. Validation errors are 400 BAD_REQUEST with Leyr's envelope, never 422."""

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

from bot.sandbox.ehr import MAX_BULK, RESOURCES, ApiError, Ehr
from bot.sandbox.faults import Fault, SimulatedNetworkFault

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator

log = logging.getLogger("bot.sandbox")
Handler = Callable[[Request], Awaitable[Response]]


def envelope(error: ApiError) -> JSONResponse:
    instance = str(uuid.uuid4())
    log.info("sandbox error %s %s instance=%s", error.code, error.error_code, instance)
    return JSONResponse(
        {
            "code": error.code,
            "type": f"https://docs.leyr.io/api/error-handling/{error.code.lower()}",
            "title": "Request failed"
            if error.code != "BAD_REQUEST"
            else "Request validation failed",
            "status": error.status,
            "detail": error.details,
            "instance": instance,
            "errors": [
                {
                    "error_code": error.error_code,
                    "details": error.details,
                    "emr_error": None,
                    "path": None,
                }
            ],
        },
        status_code=error.status,
    )


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError("BAD_INPUT", "body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError("BAD_INPUT", "body must be a JSON object")
    return data


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError("BAD_INPUT", f"{name} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        raise ApiError("BAD_INPUT", f"{name} needs a UTC offset")
    return parsed


def build_app(emulator: Emulator) -> Starlette:
    def ehr(request: Request) -> Ehr:
        emr = request.path_params["emr"]
        if emr not in emulator.ehrs:
            raise ApiError("NOT_SUPPORTED", "unknown EHR")
        cu = request.path_params.get("cu")
        if cu is not None and cu != emulator.care_unit:
            raise ApiError("INVALID_CARE_UNIT_ID", "unknown care unit")
        return emulator.ehrs[emr]

    def api(handler: Callable[[Request], Awaitable[Any]], *, write: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            emulator.calls.append((request.method, request.url.path))
            if (
                request.headers.get("x-leyr-client-id") != emulator.client_id
                or request.headers.get("x-leyr-client-secret") != emulator.client_secret
            ):
                return envelope(
                    ApiError("UNAUTHORIZED", "bad credentials", code="UNAUTHORIZED", status=401)
                )
            fault = emulator.faults.next()
            await emulator.wait(emulator.faults.latency_ms + (fault.ms if fault else 0))
            if fault and not fault.lands and fault.kind == "server_error":
                return Response("upstream failure", status_code=503)
            if fault and not fault.lands and fault.kind == "error_envelope":
                return envelope(
                    ApiError(fault.error_code, "injected", code=fault.code, status=fault.status)
                )
            if fault and not fault.lands and fault.kind in ("timeout", "reset"):
                raise SimulatedNetworkFault(fault.kind)
            try:
                result = await handler(request)
            except ApiError as error:
                return envelope(error)
            if fault and fault.kind in ("timeout", "reset"):
                raise SimulatedNetworkFault(fault.kind)
            if fault and fault.kind == "malformed":
                return Response(b'{"id": "trunc', media_type="application/json")
            if fault and fault.kind == "server_error":
                return Response("upstream failure after write", status_code=500)
            if fault and fault.kind == "error_envelope":
                return envelope(
                    ApiError(fault.error_code, "injected", code=fault.code, status=fault.status)
                )
            return JSONResponse(result)

        return endpoint

    async def care_units(request: Request) -> Any:
        ehr(request)
        return [{"id": emulator.care_unit, "name": "Sandbox Clinic Södermalm"}]

    async def resources(request: Request) -> Any:
        ehr(request)
        return [{"id": key, "name": name} for key, name in RESOURCES.items()]

    async def patient(request: Request) -> Any:
        return ehr(request).patient(request.path_params["patient_id"])

    async def patients(request: Request) -> Any:
        q = request.query_params
        return ehr(request).search(q.get("first_name"), q.get("last_name"))

    async def appointments(request: Request) -> Any:
        q = request.query_params
        if not q.get("patient_id"):
            raise ApiError("MISSING_REQUIRED_FIELD", "patient_id is required")
        return ehr(request).listing(
            q["patient_id"], _when(q.get("start"), "start"), _when(q.get("end"), "end")
        )

    async def patch_one(request: Request) -> Any:
        target = ehr(request)
        body = await _body(request)
        if {"start", "end", "resource_id"} & body.keys():
            raise ApiError("BAD_INPUT", "rescheduling fields are not allowed when cancelling")
        if "confirmation" in body:
            if "status" in body or not isinstance(body["confirmation"], dict):
                raise ApiError("BAD_INPUT", "confirmation must be sent alone")
            code = body["confirmation"].get("code")
            if not isinstance(code, str):
                raise ApiError("MISSING_REQUIRED_FIELD", "confirmation.code is required")
            return target.confirm(request.path_params["id"], code)
        if body.get("status") != "cancelled":
            raise ApiError("MISSING_REQUIRED_FIELD", "status must be 'cancelled'")
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise ApiError("BAD_INPUT", "comment must be a string")
        return target.cancel_one(request.path_params["id"], comment)

    async def patch_bulk(request: Request) -> Any:
        target = ehr(request)
        body = await _body(request)
        ids = body.get("ids")
        if not ids or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError("MISSING_REQUIRED_FIELD", "ids is required")
        if len(ids) > MAX_BULK:
            raise ApiError("MAX_ITEMS_EXCEEDED", f"at most {MAX_BULK} ids")
        if body.get("status") != "cancelled":
            raise ApiError("MISSING_REQUIRED_FIELD", "status must be 'cancelled'")
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise ApiError("BAD_INPUT", "comment must be a string")
        return target.cancel(ids, comment)

    def control(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if (
                request.headers.get("x-leyr-client-id") != emulator.client_id
                or request.headers.get("x-leyr-client-secret") != emulator.client_secret
            ):
                return envelope(
                    ApiError("UNAUTHORIZED", "bad credentials", code="UNAUTHORIZED", status=401)
                )
            try:
                return JSONResponse(await handler(request))
            except ApiError as error:
                return envelope(error)
            except (TypeError, ValueError):
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
        body = await _body(request)
        emulator.set_profile(
            request.path_params["emr"], body.get("cancellation"), body.get("listing")
        )
        return {"ok": True}

    async def faults(request: Request) -> Any:
        if request.method == "DELETE":
            emulator.clear_faults()
        else:
            emulator.inject(Fault(**await _body(request)))
        return {"ok": True}

    async def latency(request: Request) -> Any:
        emulator.set_latency(int((await _body(request))["ms"]))
        return {"ok": True}

    async def random_faults(request: Request) -> Any:
        body = await _body(request)
        emulator.set_random_faults(float(body["probability"]), int(body.get("seed", 0)))
        return {"ok": True}

    async def patients_for_agents(request: Request) -> Any:
        return [
            {"personal_number": p.personal_number, "label": p.label}
            for p in emulator.test_patients()
        ]

    unit = "/api/emrs/{emr}/care-units/{cu}"
    routes = [
        Route("/api/emrs/{emr}/care-units", api(care_units), methods=["GET"]),
        Route(f"{unit}/resources", api(resources), methods=["GET"]),
        Route(f"{unit}/patients", api(patients), methods=["GET"]),
        Route(f"{unit}/patients/{{patient_id}}", api(patient), methods=["GET"]),
        Route(f"{unit}/appointments", api(appointments), methods=["GET"]),
        Route(f"{unit}/appointments", api(patch_bulk, write=True), methods=["PATCH"]),
        Route(f"{unit}/appointments/{{id}}", api(patch_one, write=True), methods=["PATCH"]),
        Route("/api/_sandbox/reset", control(reset), methods=["POST"]),
        Route("/api/_sandbox/outbox", control(outbox), methods=["GET"]),
        Route("/api/_sandbox/emrs/{emr}/profile", control(profile), methods=["PUT"]),
        Route("/api/_sandbox/faults", control(faults), methods=["POST", "DELETE"]),
        Route("/api/_sandbox/latency", control(latency), methods=["PUT"]),
        Route("/api/_sandbox/random-faults", control(random_faults), methods=["PUT"]),
        Route("/api/_sandbox/test-patients", control(patients_for_agents), methods=["GET"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return envelope(ApiError("NOT_SUPPORTED", "no such endpoint", status=404))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
