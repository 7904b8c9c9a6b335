"""Reading the directory from a SCIM 2.0 service provider (RFC 7643, RFC 7644).

Users give the people: ``employeeNumber``, ``department`` and ``manager`` from the
enterprise extension, ``active``, the primary e-mail address and the name. Groups give
the departments' names. Both are read page by page (``startIndex``/``count``) with an
optional filter, and the whole directory is read before anything is returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
from rotation_domain.directory import DepartmentRecord, DirectorySnapshot, PersonRecord
from rotation_domain.errors import DirectorySourceError, InvalidInput

from rotation_hris.settings import Secret

__all__ = ["ENTERPRISE_USER", "ScimError", "ScimSource"]

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class ScimError(DirectorySourceError):
    """The SCIM service could not be read whole: unreachable, slow, refusing, or malformed.

    ``details`` hold the ``source``, the ``resource`` at fault (``Users``, ``Users/<id>``,
    ``Groups``...) and, for an HTTP error, the ``status``. The token is never in them.
    """


class ScimSource:
    """A directory source reading Users and Groups from a SCIM 2.0 service.

    Args:
        url: The service's base URL, the one ``/Users`` is under.
        token: The bearer token.
        it_departments: Codes of the departments that are IT (R1).
        timeout: Seconds to wait for each response.
        page_size: The ``count`` asked for each page.
        user_filter: A SCIM filter for the Users (``active eq true``...). People it
            leaves out are not in the directory, so a sync records their departure.
        group_filter: A SCIM filter for the Groups.
        name: The source's name.
    """

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        it_departments: Iterable[str] = (),
        timeout: float = 30.0,
        page_size: int = 100,
        user_filter: str | None = None,
        group_filter: str | None = None,
        name: str = "scim",
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self._token = token
        self.it_departments = frozenset(it_departments)
        self.timeout = timeout
        self.page_size = page_size
        self.user_filter = user_filter
        self.group_filter = group_filter

    def __repr__(self) -> str:
        return f"ScimSource(name={self.name!r}, url={self.url!r}, token=***)"

    def read(self) -> DirectorySnapshot:
        """Read every User and Group, and map them to the directory.

        Raises:
            ScimError: a request failed or timed out, or a resource is malformed.
        """
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/scim+json, application/json",
        }
        with httpx.Client(headers=headers, timeout=self.timeout) as client:
            groups = self._list(client, "Groups", self.group_filter)
            users = self._list(client, "Users", self.user_filter)
        return self._snapshot(users, groups)

    # ------------------------------------------------------------ HTTP

    def _fail(self, message: str, resource: str, **details: Any) -> ScimError:
        return ScimError(
            f"SCIM source {self.name!r} ({self.url}): {message}",
            source=self.name,
            resource=resource,
            **details,
        )

    def _list(self, client: httpx.Client, endpoint: str, scim_filter: str | None) -> list[Any]:
        """Every resource of an endpoint, page by page."""
        found: list[Any] = []
        start = 1
        while True:
            params: dict[str, str | int] = {"startIndex": start, "count": self.page_size}
            if scim_filter:
                params["filter"] = scim_filter
            page = self._get(client, endpoint, params)
            total = page.get("totalResults")
            resources = page.get("Resources", [])
            if not isinstance(total, int) or isinstance(total, bool) or total < 0:
                raise self._fail(
                    f"the {endpoint} list at startIndex {start} has no valid totalResults",
                    endpoint,
                )
            if not isinstance(resources, list):
                raise self._fail(
                    f"the {endpoint} list at startIndex {start} has Resources that are not a list",
                    endpoint,
                )
            found.extend(resources)
            if len(found) >= total:
                return found
            if not resources:
                raise self._fail(
                    f"the {endpoint} list ended at {len(found)} resources, "
                    f"but totalResults says {total}",
                    endpoint,
                )
            start += len(resources)

    def _get(self, client: httpx.Client, endpoint: str, params: dict[str, str | int]) -> Any:
        where = f"GET {endpoint} (startIndex {params['startIndex']})"
        try:
            response = client.get(f"{self.url}/{endpoint}", params=params)
        except httpx.TimeoutException:
            raise self._fail(
                f"no answer to {where} within {self.timeout:g} seconds", endpoint
            ) from None
        except httpx.HTTPError as error:
            raise self._fail(f"{where} failed: {type(error).__name__}: {error}", endpoint) from None
        if response.status_code in (401, 403):
            raise self._fail(
                f"the server refused the bearer token ({response.status_code}) for {where}; "
                "check ROTATION_SCIM_TOKEN",
                endpoint,
                status=response.status_code,
            )
        if response.status_code != 200:
            raise self._fail(
                f"the server answered {response.status_code} to {where}{_scim_detail(response)}",
                endpoint,
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            raise self._fail(f"the answer to {where} is not JSON", endpoint) from None
        if not isinstance(body, dict):
            raise self._fail(f"the answer to {where} is not a SCIM ListResponse", endpoint)
        schemas = body.get("schemas")
        if isinstance(schemas, list) and LIST_RESPONSE not in schemas:
            raise self._fail(f"the answer to {where} is not a SCIM ListResponse", endpoint)
        return body

    # ------------------------------------------------------------ mapping

    def _snapshot(self, users: list[Any], groups: list[Any]) -> DirectorySnapshot:
        names = self._group_names(groups)
        parsed = [self._user(resource) for resource in users]
        codes: dict[str, str] = {}
        for scim_id, person, _ in parsed:
            if person["code"] in codes.values():
                first = next(i for i, code in codes.items() if code == person["code"])
                raise self._fail(
                    f"Users {first} and {scim_id} have the same employeeNumber {person['code']!r}",
                    f"Users/{scim_id}",
                )
            codes[scim_id] = person["code"]
        people: list[PersonRecord] = []
        for scim_id, person, manager_id in parsed:
            manager = None
            if manager_id is not None:
                manager = codes.get(manager_id)
                if manager is None:
                    raise self._fail(
                        f"User {scim_id} ({person['code']}) has as manager the User "
                        f"{manager_id!r}, which the service did not list",
                        f"Users/{scim_id}",
                    )
            try:
                people.append(PersonRecord(manager=manager, **person))
            except InvalidInput as error:
                raise self._fail(
                    f"User {scim_id} is malformed: {error.message}", f"Users/{scim_id}"
                ) from None
        used = sorted({p.department for p in people})
        try:
            departments = [
                DepartmentRecord(code, names.get(code, code), code in self.it_departments)
                for code in used
            ]
            return DirectorySnapshot(departments, people)
        except InvalidInput as error:
            raise self._fail(f"the directory is not usable: {error.message}", "Users") from None

    def _group_names(self, groups: list[Any]) -> dict[str, str]:
        """Department code -> name: a Group whose externalId (or else displayName) is a code."""
        names: dict[str, str] = {}
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("id"), str):
                raise self._fail(f"a Group has no id: {_short(group)}", "Groups")
            display = group.get("displayName")
            if not isinstance(display, str) or not display.strip():
                raise self._fail(f"Group {group['id']} has no displayName", f"Groups/{group['id']}")
            key = group.get("externalId")
            names[key if isinstance(key, str) and key.strip() else display] = display.strip()
        return names

    def _user(self, resource: Any) -> tuple[str, dict[str, Any], str | None]:
        """The SCIM id, the PersonRecord fields and the manager's SCIM id of a User."""
        if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
            raise self._fail(f"a User has no id: {_short(resource)}", "Users")
        scim_id: str = resource["id"]
        where = f"Users/{scim_id}"

        def bad(what: str) -> ScimError:
            label = resource.get("userName")
            named = f" ({label})" if isinstance(label, str) else ""
            return self._fail(f"User {scim_id}{named} {what}", where)

        extension = resource.get(ENTERPRISE_USER, {})
        if not isinstance(extension, dict):
            raise bad(f"has an {ENTERPRISE_USER} that is not an object")
        code = extension.get("employeeNumber")
        if not isinstance(code, str) or not code.strip():
            raise bad("has no employeeNumber (enterprise extension)")
        department = extension.get("department")
        if not isinstance(department, str) or not department.strip():
            raise bad("has no department (enterprise extension)")
        active = resource.get("active", True)
        if not isinstance(active, bool):
            raise bad(f"has active={active!r}, not true or false")
        manager = extension.get("manager")
        manager_id: str | None = None
        if manager is not None:
            if not isinstance(manager, dict):
                raise bad("has a manager that is not an object")
            value = manager.get("value")
            if value is not None and not isinstance(value, str):
                raise bad("has a manager whose value is not a text")
            manager_id = value or None
        name = _name_of(resource)
        if name is None:
            raise bad("has no name, displayName or userName")
        email = _email_of(resource)
        if email is None:
            raise bad("has no e-mail address")
        fields = {
            "code": code.strip(),
            "name": name,
            "email": email,
            "department": department.strip(),
            "active": active,
        }
        return scim_id, fields, manager_id


def _name_of(resource: dict[str, Any]) -> str | None:
    name = resource.get("name")
    if isinstance(name, dict):
        formatted = name.get("formatted")
        if isinstance(formatted, str) and formatted.strip():
            return formatted.strip()
        parts = [name.get("givenName"), name.get("familyName")]
        joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if joined:
            return joined
    for key in ("displayName", "userName"):
        value = resource.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _email_of(resource: dict[str, Any]) -> str | None:
    """The primary e-mail address, else the first of type work, else the first."""
    emails = resource.get("emails")
    if not isinstance(emails, list):
        return None
    valid = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for choose in (
        lambda e: e.get("primary") is True,
        lambda e: e.get("type") == "work",
        lambda e: True,
    ):
        for email in valid:
            if choose(email):
                value: str = email["value"].strip()
                return value
    return None


def _scim_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return f": {detail}" if isinstance(detail, str) and detail else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
