"""Public shapes of procedures and dossiers (API.md: "Once-only e-forms")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictInt,
    ValidationError,
    model_serializer,
)

from forms.errors import ApplicationInvalid
from identity.text import FreeText
from wallet.issuer_schemas import IssueFile, problems_by_field
from wallet.schemas import VerificationPublic

Model = TypeVar("Model", bound=BaseModel)


def parse_json(model: type[Model], body: bytes) -> Model:
    """Parse a JSON body strictly (no "5" for 5, no true for 1); every problem at once as `ApplicationInvalid`."""
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise ApplicationInvalid(problems_by_field(exc)) from None


ApplicationStatus = Literal["draft", "submitted", "processing", "needs_info", "completed", "rejected"]
AgencyStatus = Literal["processing", "needs_info", "completed", "rejected"]
Origin = Literal["prefill", "chosen", "uploaded"]


class ChoiceLabelPublic(BaseModel):
    """One choice of an enum or list field: the value the API takes, and what people read."""

    value: str
    label: str = Field(description="Vietnamese")
    label_en: str


class ProcedureFieldPublic(BaseModel):
    """One field of a procedure's form; `source` ("TYPE.field") only when the wallet can fill it; an enum or list
    field has its `choices` (the values) and, beside them, `choice_labels` (each value with its labels)."""

    name: str
    label: str
    label_en: str
    type: str
    required: bool
    source: str | None = None
    choices: list[str] | None = None
    choice_labels: list[ChoiceLabelPublic] | None = None
    pattern: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        optional = {"source", "choices", "choice_labels", "pattern"}
        return {k: v for k, v in data.items() if not (k in optional and v is None)}


class AgencyPublic(BaseModel):
    code: str
    name: str


class ProcedurePublic(BaseModel):
    code: str
    name: str
    name_en: str
    agency: AgencyPublic
    fields: list[ProcedureFieldPublic]
    required_documents: list[str]
    dependant_documents: list[str] = Field(
        default_factory=list, description="types whose papers here are about the applicant's dependant (a child)"
    )
    processing_days: int = Field(description="the legal processing time in working days (Monday to Friday)")


class ProcedurePage(BaseModel):
    items: list[ProcedurePublic]
    next_cursor: str | None


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(min_length=1, max_length=64)
    # Values the citizen already knows may come with the draft (saves a request); sourced ones are pulled anyway.
    fields: dict[str, Any] | None = None


class ApplicationUpdate(BaseModel):
    """Fill what is missing: `fields` by name (null clears), `documents` attaches wallet papers by type."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(default_factory=dict)
    documents: dict[str, str] = Field(default_factory=dict)


class FieldProvenance(BaseModel):
    source: str  # "cccd.full_name"
    document_id: str
    type: str
    provenance: Literal["issuer_signed", "self_uploaded"]
    version: int
    read_only: bool


class AttachedDocument(BaseModel):
    type: str
    document_id: str
    origin: Origin
    version: int | None  # frozen at submission


class ActorPublic(BaseModel):
    type: Literal["citizen", "agency", "officer", "system"]
    code: str | None


class StatusEvent(BaseModel):
    status: ApplicationStatus
    at: datetime
    actor: ActorPublic
    note: str | None


class RatingPublic(BaseModel):
    score: int
    comment: str | None
    rated_at: datetime


class ResultPublic(BaseModel):
    document_id: str


class ApplicationSummary(BaseModel):
    id: str
    procedure_code: str
    procedure_name: str
    agency: AgencyPublic
    status: ApplicationStatus
    dossier_code: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    due_at: datetime | None = None  # the procedure's processing time after the last submission


class ApplicationPublic(ApplicationSummary):
    fields: dict[str, Any]
    prefilled: list[str]
    provenance: dict[str, FieldProvenance]
    read_only: list[str]
    missing_fields: list[str]
    attached_documents: list[AttachedDocument]
    missing_documents: list[str]
    history: list[StatusEvent]
    result: ResultPublic | None
    rating: RatingPublic | None


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    next_cursor: str | None


class SubmittedDossier(BaseModel):
    """What the agency receives: the values and paper versions frozen at the last submission."""

    id: str
    procedure_code: str
    procedure_name: str
    dossier_code: str | None
    status: ApplicationStatus
    submitted_at: datetime | None
    due_at: datetime | None = None  # the procedure's processing time after the last submission
    updated_at: datetime
    fields: dict[str, Any]
    attached_documents: list[AttachedDocument]
    history: list[StatusEvent]
    result: ResultPublic | None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AgencyStatus
    note: FreeText | None = Field(default=None, max_length=2000)


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: StrictInt = Field(ge=1, le=5)
    comment: FreeText | None = Field(default=None, max_length=1000)


class ResultCreate(BaseModel):
    """The body of `POST /agency/applications/{id}/result`: `POST /issuer/documents` bound to the dossier."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(default="tthc_result", max_length=40)
    fields: dict[str, Any]
    file: IssueFile | None = None
    national_id: str | None = Field(default=None, pattern=r"^[0-9]{12}$")  # if given, must be the applicant's

    @classmethod
    def parse(cls, body: bytes) -> ResultCreate:
        return parse_json(cls, body)


class ResultIssued(BaseModel):
    id: str
    verification: VerificationPublic
    application_id: str
    status: ApplicationStatus


class ProcedureStats(BaseModel):
    procedure_code: str
    procedure_name: str
    agency: AgencyPublic
    started: int
    submitted: int
    completed: int
    rejected: int
    median_seconds_login_to_submission: float | None
    prefill_ratio: float | None
    papers_reused: int
    papers_uploaded: int
    ratings: int
    satisfaction_rate: float | None
    median_processing_seconds: float | None
    overdue: int = Field(description="dossiers submitted or processing past their due date")
    processing_days: int = Field(description="the procedure's legal processing time, in working days")


class StatsTotal(BaseModel):
    """The same figures over every procedure of the report (medians over all their dossiers together)."""

    started: int
    submitted: int
    completed: int
    rejected: int
    median_seconds_login_to_submission: float | None
    prefill_ratio: float | None
    papers_reused: int
    papers_uploaded: int
    ratings: int
    satisfaction_rate: float | None
    median_processing_seconds: float | None
    overdue: int


class StatsReport(BaseModel):
    items: list[ProcedureStats]
    generated_at: datetime
    total: StatsTotal = Field(description="the figures over every procedure listed")
    period_from: date | None = Field(
        default=None, description="first day counted (Vietnam time): dossiers submitted, or started if never submitted"
    )
    period_to: date | None = Field(default=None, description="last day counted, included (Vietnam time)")
