"""API keys: hashed at rest (SQLite or the shared PostgreSQL), with a role and per-collection permissions.

A key reads ``rl_<id>_<secret>``. Only the SHA-256 of the whole key is stored; the id finds the
row, and the hash is compared in constant time. The plain key is shown once, at creation.

Roles: ``admin`` may do everything (keys, prompts, evaluations, every collection); ``user`` may
do what its grants allow: ``{"COLLECTION" or "*": "read" | "write" | "admin"}``, where write
includes read, and admin (delete the collection) includes write.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import func, insert, select, update

from ragloom.core.errors import ConfigError
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target
from ragloom.core.storage.schema import keys as _keys

Level = Literal["read", "write", "admin"]
LEVELS: dict[str, int] = {"read": 1, "write": 2, "admin": 3}
ROLES = ("admin", "user")
_KEY = re.compile(r"^rl_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")



@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do."""

    id: str
    name: str
    role: str
    grants: dict[str, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def level(self, collection: str) -> int:
        if self.is_admin:
            return LEVELS["admin"]
        return max(LEVELS.get(self.grants.get(collection, ""), 0),
                   LEVELS.get(self.grants.get("*", ""), 0))

    def can(self, collection: str, need: Level) -> bool:
        return self.level(collection) >= LEVELS[need]


LOCAL_ADMIN = Principal(id="local", name="local (no auth, loopback)", role="admin")


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    role: str
    grants: dict[str, str]
    created: float
    revoked: float | None


def parse_grants(items: list[str] | dict[str, str] | None) -> dict[str, str]:
    """``["docs=write", "*=read"]`` (or a dict) -> ``{"docs": "write", "*": "read"}``, checked.

    Several grants on one collection merge to the strongest (``docs=write`` + ``docs=read`` is
    write): a later, weaker grant never silently takes a right away.
    """
    pairs = items.items() if isinstance(items, dict) else (
        tuple(i.split("=", 1)) if "=" in i else (i, "") for i in items or [])
    grants: dict[str, str] = {}
    for collection, level in pairs:
        if level not in LEVELS or not collection:
            raise ConfigError(f"bad permission '{collection}={level}'",
                              fix="use COLLECTION=read|write|admin, or *=LEVEL for every collection")
        if LEVELS[level] > LEVELS.get(grants.get(collection, ""), 0):
            grants[collection] = level
    return grants


def implied(level: str) -> list[str]:
    """The rights a level gives: ``write`` -> ``["read", "write"]`` (each includes the ones below)."""
    return [name for name, rank in LEVELS.items() if rank <= LEVELS.get(level, 0)]


def describe_grants(role: str, grants: dict[str, str]) -> str:
    """What a key can do, for listings: ``docs=write (read, write), *=read (read)``."""
    if role == "admin":
        return "everything (admin key)"
    return ", ".join(f"{c}={lvl} ({', '.join(implied(lvl))})" for c, lvl in grants.items()) or "-"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore(SqlStore):
    tables = [_keys]

    def create(self, name: str, role: str = "user", grants: dict[str, str] | None = None
               ) -> tuple[str, KeyInfo]:
        """Make a key; returns (the plain key, shown once, and its record)."""
        if role not in ROLES:
            raise ConfigError(f"unknown role '{role}'", fix=f"use one of {', '.join(ROLES)}")
        if not name.strip():
            raise ConfigError("a key needs a name", fix="say whose or what it is, e.g. --name ci")
        grants = parse_grants(grants or {})
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        plain = f"rl_{key_id}_{secret}"
        info = KeyInfo(key_id, name.strip(), role, grants, time.time(), None)
        with self.engine.begin() as db:
            db.execute(insert(_keys).values(id=key_id, name=info.name, role=role,
                                            grants=json.dumps(grants), sha256=_digest(plain),
                                            created=info.created))
        return plain, info

    def verify(self, plain: str) -> Principal | None:
        """The key's principal, or None when it is malformed, unknown, wrong or revoked."""
        match = _KEY.match(plain or "")
        if not match:
            return None
        with self.engine.connect() as db:
            row = db.execute(select(_keys.c.name, _keys.c.role, _keys.c.grants, _keys.c.sha256,
                                    _keys.c.revoked).where(_keys.c.id == match.group(1))).first()
        if row is None:
            _digest(plain)  # same work either way: timing does not tell which ids exist
            return None
        name, role, grants, stored, revoked = row
        if not hmac.compare_digest(stored, _digest(plain)) or revoked is not None:
            return None
        return Principal(match.group(1), name, role, json.loads(grants))

    def list(self) -> list[KeyInfo]:
        with self.engine.connect() as db:
            rows = db.execute(select(_keys.c.id, _keys.c.name, _keys.c.role, _keys.c.grants,
                                     _keys.c.created, _keys.c.revoked).order_by(_keys.c.created))
            return [KeyInfo(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke by id; False when no such active key."""
        with self.engine.begin() as db:
            done = db.execute(update(_keys).where(_keys.c.id == key_id, _keys.c.revoked.is_(None))
                              .values(revoked=time.time()))
        return done.rowcount == 1

    def count_active(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(select(func.count()).select_from(_keys)
                                  .where(_keys.c.revoked.is_(None))).scalar_one())


def keys_path(home: Path) -> Path:
    return home / "api" / "keys.sqlite"


def key_store(settings: Settings) -> KeyStore:
    """The keys every replica shares (``database_url``), else this home's SQLite file."""
    return KeyStore(store_target(settings.database, keys_path(settings.home)))
