"""flask-smorest's Api, answering and documenting every error as problem details."""

from __future__ import annotations

from flask_smorest import Api

from app.http import openapi, problems
from app.http.schemas import ProblemSchema


class ProblemApi(Api):
    """flask-smorest's Api answering errors as RFC 9457 problem details."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        """Werkzeug/webargs errors -> problem+json."""
        return problems.handle_http_exception(error)

    def _register_responses(self):
        """Error responses are documented as problem+json, with their headers."""
        openapi.register_problem_responses(self)
