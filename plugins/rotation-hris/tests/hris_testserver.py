"""A real SCIM server (scim2-server) on loopback for the tests, with a few hundred users.

`scim` serves a few hundred Users (enterprise extension) and a Group per department
from scim2-server's in-memory storage, over HTTP on 127.0.0.1 with a bearer token. Its
``maxResults`` is smaller than the number of Users, so every read pages. The server can
be told to answer 500 to one request (``fail_when``), and it logs each request it got.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

TOKEN = "tok-3f9c1e77-very-secret"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMAS = ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
DEPARTMENTS = {
    "IT": "Information Technology",
    "ITOPS": "IT Operations",
    "FIN": "Finance",
    "OPS": "Operations",
    "HR": "Human Resources",
    "SALES": "Sales",
}
IT_DEPARTMENTS = "IT,ITOPS"
USERS = 300
PAGE_LIMIT = 40
"""The server's maxResults: at most this many resources per page."""

POSTGRES_URL = os.environ.get("ROTATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ScimServer:
    """A scim2-server application served on a free loopback port, with an admin client."""

    def __init__(self, users: int = USERS) -> None:
        config = load_default_service_provider_config()
        assert config.filter is not None
        config = config.model_copy(
            update={
                "filter": config.filter.model_copy(update={"max_results": PAGE_LIMIT}),
                "authentication_schemes": [BEARER_TOKEN_SCHEME],
            }
        )
        provider = ScimProvider.from_discovery(
            load_default_schemas().values(),
            load_default_resource_types().values(),
            config=config,
        )
        self.app = BearerTokenApplication(InMemoryStorage(), provider, bearer_tokens=[TOKEN])
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.fail_when: Callable[[str, dict[str, list[str]]], bool] | None = None
        self.server = make_server(
            "127.0.0.1", 0, self._wsgi, server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.admin = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        self.ids: dict[str, str] = {}
        """SCIM id of each employee number."""
        self._department: dict[str, str] = {}
        self._manager: dict[str, str | None] = {}
        for code, name in DEPARTMENTS.items():
            self.created(
                "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": code}
            )
        for n in range(1, users + 1):
            self.hire(f"E{n:03d}", department=list(DEPARTMENTS)[n % len(DEPARTMENTS)])

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("REQUEST_METHOD") == "GET":
            self.requests.append((path, query))
            if self.fail_when is not None and self.fail_when(path, query):
                start_response("500 Internal Server Error", [("Content-Type", "application/json")])
                return [
                    b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], '
                    b'"status": "500", "detail": "database unavailable"}'
                ]
        return self.app(environ, start_response)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.admin.post(path, json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def user(
        self,
        code: str,
        *,
        department: str,
        name: str | None = None,
        manager: str | None = None,
        active: bool = True,
    ) -> dict[str, Any]:
        number = code.lstrip("E")
        extension: dict[str, Any] = {"employeeNumber": code, "department": department}
        if manager is not None:
            extension["manager"] = {"value": self.ids[manager]}
        return {
            "schemas": USER_SCHEMAS,
            "userName": f"user{number}",
            "name": {
                "givenName": "Person",
                "familyName": number,
                "formatted": name or f"Person {number}",
            },
            "emails": [
                {"value": f"home{number}@example.net", "type": "home"},
                {"value": f"{code.lower()}@example.com", "type": "work", "primary": True},
            ],
            "active": active,
            ENTERPRISE: extension,
        }

    def hire(self, code: str, *, department: str, **more: Any) -> str:
        head = next((c for c in self.ids if self._department.get(c) == department), None)
        more.setdefault("manager", head)
        created = self.created("/Users", self.user(code, department=department, **more))
        self.ids[code] = created["id"]
        self._department[code] = department
        self._manager[code] = more["manager"]
        return str(created["id"])

    def replace(self, code: str, **changes: Any) -> None:
        """PUT the user again with some attributes changed (department, name, active)."""
        department = changes.pop("department", self._department[code])
        changes.setdefault("manager", self._manager[code])
        body = self.user(code, department=department, **changes)
        response = self.admin.put(f"/Users/{self.ids[code]}", json=body)
        assert response.status_code == 200, response.text
        self._department[code] = department

    def remove(self, code: str) -> None:
        response = self.admin.delete(f"/Users/{self.ids.pop(code)}")
        assert response.status_code == 204, response.text

    def user_pages(self) -> list[int]:
        return [int(q["startIndex"][0]) for path, q in self.requests if path.endswith("/Users")]

    def close(self) -> None:
        self.admin.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
