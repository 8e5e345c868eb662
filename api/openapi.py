"""OpenAPI details the handlers cannot express in their signatures (streamed multipart bodies)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema


@dataclass
class MultipartDocumentOperation(Operation):
    """The body of POST/PUT /documents: read as a stream, so Litestar cannot infer it."""

    def __post_init__(self) -> None:
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["fields"],
            properties={
                "type": Schema(type=OpenAPIType.STRING, description="document type code (POST only)"),
                "fields": Schema(type=OpenAPIType.STRING, description="the paper's fields as a JSON object"),
                "file": Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(type=OpenAPIType.STRING, format="binary"),  # type: ignore[arg-type]
                    description="0..n scans: PDF, JPEG, PNG, WebP or HEIC, recognised by content",
                ),
            },
        )
        self.request_body = RequestBody(required=True, content={"multipart/form-data": OpenAPIMediaType(schema=schema)})
