"""API fuzzing with schemathesis against a real server: every operation of the live /schema/openapi.json, called with
generated valid and invalid inputs as each kind of caller its policy entry admits (anonymous, a citizen, an officer,
an agency), then the create → read chains the schema's links describe. A finding is a 5xx, an undocumented status,
a body or content type the schema does not describe. Reproducible: hypothesis runs derandomised."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.policy import POLICY, Policy

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations that would end the session the rest of the campaign runs with: fuzzed with a session of their own.
SESSION_ENDING = {("POST", "/api/v1/auth/logout")}


@dataclass
class Finding:
    operation: str
    caller: str
    message: str

    def __str__(self) -> str:
        return f"{self.operation} as {self.caller}: {self.message}"


@dataclass
class Figures:
    operations: int = 0
    examples: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    def summary(self) -> str:
        distinct = {str(f) for f in self.findings}
        return (
            f"fuzzing: {self.operations} operations, {self.examples} examples, {len(distinct)} failures, "
            f"{self.seconds / 60:.1f} minutes; answers by status: {dict(sorted(self.statuses.items()))}"
        )


@dataclass
class Callers:
    """A bearer token for each kind of caller (none for anonymous); `spare` mints a fresh citizen session."""

    tokens: dict[str, str]
    spare: Callable[[], str] | None = None

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens.get(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        stateful_step_count=6,
    )


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, FailureGroup):
        return "; ".join(sorted({f"{type(f).__name__}: {f.title}" for f in exc.exceptions}))
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def callers_for(policy: Policy, method: str, path: str) -> list[str]:
    rule = policy.rule(method, path)
    if rule is None or rule.public:
        return ["anonymous"]
    return sorted(rule.callers - {"anonymous"})


class Campaign:
    """One fuzzing run over the schema served at `base_url`."""

    def __init__(
        self, base_url: str, callers: Callers, *, examples: int, policy: Policy = POLICY, paths: str = r"^/"
    ) -> None:
        self.base_url = base_url
        self.callers = callers
        self.examples = examples
        self.policy = policy
        self.schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json").include(path_regex=paths)
        self.figures = Figures()
        self._session = requests.Session()
        self._spare = ""

    def operations(self) -> Iterator[Any]:
        for result in self.schema.get_all_operations():
            operation = result.ok()
            if operation.path.startswith("/metrics"):
                continue  # Prometheus text, fuzzed by nothing: its answers are the client library's
            yield operation

    def run(self, *, stateful: bool = True) -> Figures:
        started = time.monotonic()
        for operation in self.operations():
            self.figures.operations += 1
            for caller in callers_for(self.policy, operation.method.upper(), operation.path):
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    self._fuzz(operation, caller, mode)
        if stateful:
            self._stateful()
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def _headers(self, operation: Any, caller: str) -> dict[str, str]:
        if (operation.method.upper(), operation.path) in SESSION_ENDING and self.callers.spare is not None:
            self._spare = self._spare or self.callers.spare()  # one session: ended, it answers 401 (documented)
            return {"Authorization": f"Bearer {self._spare}"}
        return self.callers.headers(caller)

    def _fuzz(self, operation: Any, caller: str, mode: GenerationMode) -> None:
        label = f"{operation.method.upper()} {operation.path}"

        @_settings(self.examples)
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            self.figures.examples += 1
            headers = self._headers(operation, caller)
            try:
                response = case.call(base_url=self.base_url, session=self._session, headers=headers, timeout=30)
                self.figures.statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (FailureGroup, requests.RequestException) as exc:
                self.figures.findings.append(Finding(label, f"{caller} ({mode.value})", _first_line(exc)))

        with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # no invalid input for an operation taking none
            one()

    def _stateful(self) -> None:
        """Follow the schema's links as the citizen: created papers and drafts read, changed and deleted."""
        schema = self.schema.include(path_regex=r"^/api/v1/(documents|applications)")
        headers = self.callers.headers("citizen")
        base_url, figures = self.base_url, self.figures

        class Chains(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                figures.examples += 1
                return {"base_url": base_url, "headers": headers, "timeout": 30}

            def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
                case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            Chains.run(settings=_settings(max(self.examples // 2, 5)))
        except (Exception, FailureGroup) as exc:  # a failing chain stops the state machine; it is one finding
            self.figures.findings.append(Finding("stateful links", "citizen", _first_line(exc)))
