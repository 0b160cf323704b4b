"""Reaching object storage (``s3://``, ``gs://``, ``az://``/``abfs://``).

A store on object storage is named by a URL: ``s3://bucket/prefix``. The
client is :mod:`obstore` (Rust's ``object_store``): it streams multipart
uploads, and it has *conditional puts* (``If-None-Match: *`` to create,
``If-Match: <etag>`` to replace exactly the version read), which the stores
of :mod:`partita.io.object_parquet` publish with, since object stores cannot
rename atomically.

Credentials come from where the cloud's own tools look, and are never kept on
the store object, logged or put in a message:

- S3: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``
  (and the instance, container or web-identity credentials ``object_store``
  finds), else the profile (``AWS_PROFILE``, default ``default``) of the shared
  credentials file (``AWS_SHARED_CREDENTIALS_FILE``, default
  ``~/.aws/credentials``); the region from ``AWS_REGION`` /
  ``AWS_DEFAULT_REGION`` or the profile in ``~/.aws/config``
  (``AWS_CONFIG_FILE``); an S3-compatible endpoint from ``AWS_ENDPOINT_URL``
  or the profile's ``endpoint_url`` (``http://`` endpoints are allowed).
- GCS and Azure: their ``GOOGLE_*`` / ``AZURE_*`` variables, as ``object_store``
  reads them.

``options`` given to the store (``ParquetStore(url, options={"region": ...})``)
override what the environment says; they are kept on the store (so they
pickle to workers): pass settings there, secrets in the environment.
"""

from __future__ import annotations

import configparser
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from partita.errors import StorageError

if TYPE_CHECKING:
    from obstore.store import ObjectStore


def _conflict_types() -> tuple[type[BaseException], ...]:
    try:
        from obstore.exceptions import (  # noqa: PLC0415 - optional dependency
            AlreadyExistsError,
            PreconditionError,
        )
    except ImportError:  # without the extra: nothing can conflict
        return ()
    return (AlreadyExistsError, PreconditionError)


CONFLICTS: tuple[type[BaseException], ...] = _conflict_types()
"""What a conditional put raises when it loses (the object exists, or changed)."""

__all__ = [
    "CONFLICTS",
    "OBJECT_SCHEMES",
    "ObjectAccessError",
    "ObjectLocation",
    "is_object_url",
    "object_error",
]

OBJECT_SCHEMES = frozenset({"s3", "s3a", "gs", "az", "abfs", "abfss", "adl", "azure"})
"""URL schemes a store root may have to live on object storage."""

_SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
)


class ObjectAccessError(StorageError):
    """The bucket does not exist or refuses the credentials: not retried (another
    attempt meets the same answer)."""

    retryable = False


def is_object_url(root: object) -> bool:
    """Whether ``root`` is a URL of object storage (``s3://...``), not a local path."""
    if not isinstance(root, str) or "://" not in root:
        return False
    return root.split("://", 1)[0].lower() in OBJECT_SCHEMES


def _aws_profile_settings() -> dict[str, str]:
    """Credentials, region and endpoint of the AWS profile in the shared config files,
    for what the environment does not set (the environment wins)."""
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    found: dict[str, str] = {}
    credentials_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config_file = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    for path, section in (
        (config_file, "default" if profile == "default" else f"profile {profile}"),
        (credentials_file, profile),
    ):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(Path(path).expanduser(), encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        if parser.has_section(section):
            found.update(parser.items(section))
    settings: dict[str, str] = {}
    if "AWS_ACCESS_KEY_ID" not in os.environ and found.get("aws_access_key_id"):
        settings["access_key_id"] = found["aws_access_key_id"]
        if found.get("aws_secret_access_key"):
            settings["secret_access_key"] = found["aws_secret_access_key"]
        if found.get("aws_session_token"):
            settings["session_token"] = found["aws_session_token"]
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        if found.get("region"):
            settings["region"] = found["region"]
    elif os.environ.get("AWS_DEFAULT_REGION") and not os.environ.get("AWS_REGION"):
        settings["region"] = os.environ["AWS_DEFAULT_REGION"]
    if not os.environ.get("AWS_ENDPOINT_URL") and found.get("endpoint_url"):
        settings["endpoint"] = found["endpoint_url"]
    return settings


def _scrub(text: str) -> str:
    """``text`` with every credential the environment holds replaced by ``***``."""
    for name in _SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    for value in _aws_profile_settings().values():
        if len(value) >= 8:
            text = text.replace(value, "***")
    return text


def object_error(exc: BaseException, url: str, action: str) -> StorageError:
    """One clear :class:`StorageError` for a failed object-store request: what was done,
    where, the server's reason in one line, and what to check (never a secret)."""
    from obstore.exceptions import (  # noqa: PLC0415 - optional dependency
        PermissionDeniedError,
        UnauthenticatedError,
    )

    if isinstance(exc, StorageError):  # already said (the client's first check)
        return exc
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = _scrub(lines[0] if lines else type(exc).__name__)
    if len(reason) > 300:
        reason = reason[:300] + "..."
    code = ""
    for marker in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        if marker in str(exc):
            code = marker
    if code == "NoSuchBucket":
        what = "the bucket does not exist"
        hint = "check the bucket name in the store's URL (and the endpoint it is on)"
    elif code or isinstance(exc, PermissionDeniedError | UnauthenticatedError):
        what = "access is refused"
        hint = (
            "check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or "
            "~/.aws/credentials; GOOGLE_* or AZURE_* variables) and the bucket's permissions"
        )
    else:
        what = "the request failed"
        hint = (
            "check that the endpoint is reachable (AWS_ENDPOINT_URL or the profile's "
            "endpoint_url, the network), the bucket name and the credentials"
        )
    message = f"{url}: cannot {action}: {what} ({reason})"
    if what == "the request failed":
        return StorageError(message, hint=hint)
    return ObjectAccessError(message, hint=hint)


@dataclass
class ObjectLocation:
    """A URL of object storage, and (per process, made on first use) its client.

    Args:
        url: ``scheme://bucket/prefix`` (a trailing ``/`` is ignored).
        options: settings for the client (``endpoint``, ``region``...), overriding
            the environment; kept (they pickle), so no secrets here.

    Raises:
        StorageError: the URL has no bucket.
    """

    url: str
    options: dict[str, str] = field(default_factory=dict)
    _client: Any = field(default=None, init=False, repr=False, compare=False)
    _checked: bool = field(default=False, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        parts = urlsplit(self.url)
        if not parts.netloc:
            raise StorageError(
                f"{self.url}: no bucket in the store's URL",
                hint="name the store as scheme://bucket/prefix, e.g. s3://my-bucket/warehouse",
            )

    def __getstate__(self) -> dict[str, object]:
        return {"url": self.url, "options": dict(self.options)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url = state["url"]
        self.options = state["options"]
        self._client = None
        self._checked = False
        self._lock = threading.Lock()

    def join(self, *parts: str) -> str:
        """The full URL of an object path below the prefix."""
        return "/".join((self.url, *parts))

    def client(self) -> ObjectStore:
        """The process's client, made and checked (the bucket is listed once) on first use.

        Raises:
            StorageError: the bucket cannot be reached, does not exist or refuses access.
        """
        with self._lock:
            client: ObjectStore = self._client or self._make()
            self._client = client
            if not self._checked:
                self._probe(client)
                self._checked = True
            return client

    def _make(self) -> ObjectStore:
        from obstore.store import from_url  # noqa: PLC0415 - optional dependency

        scheme = urlsplit(self.url).scheme.lower()
        config: dict[str, Any] = {}
        client_options: dict[str, Any] = {"connect_timeout": timedelta(seconds=5)}
        if scheme in ("s3", "s3a"):
            config.update(_aws_profile_settings())
            if "region" not in config and not os.environ.get("AWS_REGION"):
                config["region"] = "us-east-1"
        config.update(self.options)
        endpoint = str(config.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL") or "")
        if endpoint.startswith("http://"):
            client_options["allow_http"] = True
        retry = {
            "max_retries": 4,
            "retry_timeout": timedelta(seconds=20),
            "backoff": {"init_backoff": timedelta(milliseconds=100)},
        }
        make: Any = from_url  # its overloads are per scheme; the URL picks one at run time
        try:
            store: ObjectStore = make(
                self.url, config=config or None, client_options=client_options, retry_config=retry
            )
        except Exception as exc:
            raise StorageError(
                f"{self.url}: cannot configure the object store client: {_scrub(str(exc))}",
                hint="check the store's URL and options (endpoint, region)",
            ) from None
        return store

    def _probe(self, client: ObjectStore) -> None:
        import obstore  # noqa: PLC0415 - optional dependency

        try:
            for _chunk in obstore.list(client, None, chunk_size=1):
                break
        except Exception as exc:
            raise object_error(exc, self.url, "list the store's objects") from None

    # -- requests (paths are relative to the prefix) -----------------------------------------

    def get(self, path: str) -> tuple[bytes, str | None] | None:
        """The object's bytes and ETag, ``None`` when it does not exist."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        try:
            response = obstore.get(client, path)
            return bytes(response.bytes()), response.meta.get("e_tag")
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise object_error(exc, self.join(path), "read") from None

    def exists(self, path: str) -> bool:
        """Whether the object exists (one ``HEAD``)."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        try:
            obstore.head(client, path)
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise object_error(exc, self.join(path), "read") from None
        return True

    def put(self, path: str, data: bytes | Path, mode: Any) -> None:
        """Put ``data`` (a local file is uploaded in parts when large) with ``mode``
        (``"create"``, or ``{"e_tag": ...}`` to replace that version); a lost condition
        raises one of :data:`CONFLICTS`."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        try:
            obstore.put(client, path, data, mode=mode)
        except CONFLICTS:
            raise
        except Exception as exc:
            raise object_error(exc, self.join(path), "write") from None

    def delete(self, paths: Sequence[str]) -> None:
        """Delete the objects (a missing one is skipped)."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        for path in paths:
            try:
                obstore.delete(client, path)
            except FileNotFoundError:
                continue
            except Exception as exc:
                raise object_error(exc, self.join(path), "delete") from None

    def list_all(self, prefix: str | None) -> Iterator[Any]:
        """The metadata (``path``, ``last_modified``...) of every object below ``prefix/``
        (everything when ``None``), recursively."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        try:
            for chunk in obstore.list(client, None if prefix is None else prefix + "/"):
                yield from chunk
        except Exception as exc:
            raise object_error(exc, self.join(prefix or ""), "list") from None

    def list_folder(self, prefix: str) -> list[Any]:
        """The metadata of the objects directly below ``prefix/`` (not recursively)."""
        import obstore  # noqa: PLC0415 - optional dependency

        client = self.client()
        try:
            listed = obstore.list_with_delimiter(client, prefix + "/")
        except Exception as exc:
            raise object_error(exc, self.join(prefix), "list") from None
        return list(listed["objects"])
