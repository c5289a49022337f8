"""OAuth 2.0 for the sandboxes: apps, authorization codes (PKCE S256), JWT access tokens, rotating refresh
tokens with a grace period, revocation and connections. Lifetimes and rotation come from an ``OAuthPolicy``
so each provider states its own (xero.md §1, §10 items 1-4; quickbooks.md §1.2, §10 item 3), and each
provider renders the ``IssuedTokens`` in its own token-response keys.

Times are sandbox seconds. A JWT's ``exp``/``nbf`` are converted to wall-clock epochs, so a client that reads
``exp`` refreshes at the right moment under ``--time-scale``; validity itself is judged by the sandbox clock,
so a clock advance expires tokens whose ``exp`` the client still believes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .state import Store, new_id

PKCE_VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True)
class OAuthPolicy:
    """A provider's OAuth lifetimes, in sandbox seconds. ``rotate_after_s`` 0 rotates the refresh token on
    every use (Xero); QBO hands back the same value for about a day. ``refresh_hard_ttl_s`` caps a grant's
    life from its consent whatever the refreshes (QBO's 5 years since 2025)."""

    issuer: str
    code_ttl_s: float = 300.0
    access_ttl_s: float = 1800.0
    refresh_idle_ttl_s: float = 60 * 86_400.0
    refresh_grace_s: float = 1800.0
    rotate_after_s: float = 0.0
    refresh_hard_ttl_s: float | None = None
    refresh_scope: str | None = "offline_access"  # None: every grant gets a refresh token (QBO)


@dataclass(frozen=True)
class IssuedTokens:
    """What a token-endpoint success carries, before a provider names the keys. Durations are real seconds
    (a client reads them against its own clock); the refresh fields are None without a refresh token."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    refresh_hard_expires_in: int | None = None
    id_token: str | None = None


class OAuthError(Exception):
    """A token-endpoint error: rendered as ``{"error": code}`` (plus a description) with ``status``."""

    def __init__(self, code: str, description: str = "", status: int = 400) -> None:
        super().__init__(code)
        self.code, self.description, self.status = code, description, status


@dataclass(frozen=True)
class AccessDenied(Exception):
    """Why a bearer token was refused: ``expired`` (with when), ``revoked`` or ``invalid``."""

    reason: str
    expired_at: float | None = None


@dataclass(frozen=True)
class Access:
    """A verified bearer token: who, which app, which consent, which scopes."""

    grant_id: str
    client_id: str
    user_id: str
    scopes: frozenset[str]


def pkce_s256(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _valid_verifier(verifier: str) -> bool:
    return 43 <= len(verifier) <= 128 and set(verifier) <= PKCE_VERIFIER_CHARS


class Grants:
    """Issues and checks everything OAuth for one sandbox. All methods take the store lock."""

    def __init__(self, store: Store, policy: OAuthPolicy) -> None:
        self.store = store
        self.clock = store.clock
        self.policy = policy
        if store.signing_key_pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            store.signing_key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        private_key = serialization.load_pem_private_key(store.signing_key_pem.encode(), None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        self._private_key: rsa.RSAPrivateKey = private_key
        self.key_id = hashlib.sha256(store.signing_key_pem.encode()).hexdigest()[:16]

    # -- apps -------------------------------------------------------------------------------------------
    def create_app(
        self, redirect_uris: list[str], name: str, granular_only: bool, tier: str = "", certified: bool = True
    ) -> dict[str, Any]:
        """Register an app; its secret is returned once, like a developer portal shows it."""
        app: dict[str, Any] = {
            "client_id": secrets.token_hex(16).upper(),
            "client_secret": secrets.token_urlsafe(36),
            "redirect_uris": list(redirect_uris),
            "name": name,
            "granular_only": granular_only,
            "tier": tier,
            "certified": certified,
            "created_at": self.clock.now(),
        }
        with self.store.lock:
            self.store.apps[app["client_id"]] = app
            self.store.save()
        return app

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> dict[str, Any]:
        """Check client credentials in constant time; a PKCE-only caller may omit the secret."""
        app = self.store.apps.get(client_id or "")
        if app is None:
            raise OAuthError("invalid_client")
        if client_secret is not None and not hmac.compare_digest(
            client_secret.encode(), app["client_secret"].encode()
        ):
            raise OAuthError("invalid_client")
        return app

    # -- codes ------------------------------------------------------------------------------------------
    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        tenant_ids: list[str],
        user_id: str | None = None,
        code_challenge: str | None = None,
    ) -> str:
        """Record a consent and return its single-use authorization code (5 minutes at Xero)."""
        code = secrets.token_urlsafe(32)
        with self.store.lock:
            self.store.codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scope.split()),
                "tenant_ids": list(tenant_ids),
                "user_id": user_id or new_id(),
                "code_challenge": code_challenge,
                "expires_at": self.clock.now() + self.policy.code_ttl_s,
                "used": False,
            }
            self.store.save()
        return code

    def exchange_code(
        self, app: dict[str, Any], code: str, redirect_uri: str, verifier: str | None, secret_given: bool
    ) -> IssuedTokens:
        """authorization_code grant: single use, unexpired, same redirect URI, PKCE when challenged."""
        with self.store.lock:
            record = self.store.codes.get(code)
            if record is None or record["client_id"] != app["client_id"] or record["used"]:
                raise OAuthError("invalid_grant")
            if self.clock.now() >= record["expires_at"]:
                raise OAuthError("invalid_grant")
            if record["redirect_uri"] != redirect_uri:
                raise OAuthError("invalid_grant")
            if record["code_challenge"]:
                if not verifier or not _valid_verifier(verifier):
                    raise OAuthError("invalid_grant")
                if not hmac.compare_digest(pkce_s256(verifier), record["code_challenge"]):
                    raise OAuthError("invalid_grant")
            elif not secret_given:
                raise OAuthError("invalid_client")
            record["used"] = True
            grant = self._new_grant(app["client_id"], record)
            tokens = self._token_set(grant)
            self.store.save()
            return tokens

    def _new_grant(self, client_id: str, record: dict[str, Any]) -> dict[str, Any]:
        grant_id = new_id()
        now = self.clock.now()
        grant = {
            "grant_id": grant_id,
            "client_id": client_id,
            "user_id": record["user_id"],
            "scope": record["scope"],
            "revoked": False,
            "pkce": bool(record["code_challenge"]),
            "refresh_tokens": {},
            "access_tokens": {},
            "created_at": now,
        }
        self.store.grants[grant_id] = grant
        for tenant_id in record["tenant_ids"]:
            self._connect(client_id, record["user_id"], tenant_id, grant_id, now)
        return grant

    def _connect(self, client_id: str, user_id: str, tenant_id: str, auth_event_id: str, now: float) -> None:
        for connection in self.store.connections.values():
            same = (connection["client_id"], connection["user_id"], connection["tenant_id"])
            if same == (client_id, user_id, tenant_id):
                connection["auth_event_id"], connection["updated_at"] = auth_event_id, now
                return
        connection_id = new_id()
        self.store.connections[connection_id] = {
            "id": connection_id,
            "client_id": client_id,
            "user_id": user_id,
            "tenant_id": tenant_id,
            "auth_event_id": auth_event_id,
            "created_at": now,
            "updated_at": now,
        }

    # -- tokens -----------------------------------------------------------------------------------------
    def _token_set(self, grant: dict[str, Any], keep_refresh: str | None = None) -> IssuedTokens:
        """Mint an access token and, when the grant has one, a refresh token (``keep_refresh`` hands the
        presented one back unrotated)."""
        now = self.clock.now()
        scopes = grant["scope"].split()
        jti = secrets.token_hex(16)
        sandbox_exp = now + self.policy.access_ttl_s
        grant["access_tokens"] = {
            k: exp for k, exp in grant["access_tokens"].items() if exp > now - self.policy.access_ttl_s
        }
        grant["access_tokens"][jti] = sandbox_exp
        claims = {
            "nbf": int(self.clock.real_epoch(now)),
            "exp": int(self.clock.real_epoch(sandbox_exp)),
            "iss": self.policy.issuer,
            "aud": f"{self.policy.issuer}/resources",
            "client_id": grant["client_id"],
            "sub": grant["user_id"].replace("-", ""),
            "auth_time": int(self.clock.real_epoch(grant["created_at"])),
            "xero_userid": grant["user_id"],
            "global_session_id": grant["grant_id"].replace("-", ""),
            "sid": grant["grant_id"].replace("-", ""),
            "jti": jti,
            "authentication_event_id": grant["grant_id"],
            "scope": scopes,
        }
        headers = {"kid": self.key_id, "typ": "JWT"}
        refresh = keep_refresh
        if refresh is None and self._offline(grant):
            refresh = secrets.token_hex(32)
            grant["refresh_tokens"][refresh] = {"issued_at": now, "rotated_at": None, "last_used_at": now}
        return IssuedTokens(
            access_token=jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers),
            expires_in=self._real(self.policy.access_ttl_s),
            scope=grant["scope"],
            refresh_token=refresh,
            refresh_expires_in=None if refresh is None else self._real(self._refresh_life(grant, now)),
            refresh_hard_expires_in=None if refresh is None else self._hard_left(grant, now),
            id_token=self._id_token(grant, now) if "openid" in scopes else None,
        )

    def _real(self, sandbox_seconds: float) -> int:
        return max(1, round(self.clock.real_seconds(sandbox_seconds)))

    def _offline(self, grant: dict[str, Any]) -> bool:
        """Xero issues refresh tokens only under ``offline_access``; QBO always does (no such scope)."""
        return self.policy.refresh_scope is None or self.policy.refresh_scope in grant["scope"].split()

    def _hard_end(self, grant: dict[str, Any]) -> float | None:
        hard = self.policy.refresh_hard_ttl_s
        return None if hard is None else grant["created_at"] + hard

    def _hard_left(self, grant: dict[str, Any], now: float) -> int | None:
        end = self._hard_end(grant)
        return None if end is None else self._real(end - now)

    def _refresh_life(self, grant: dict[str, Any], now: float) -> float:
        """The rolling expiry from now, never past the hard cap (QBO: a refresh that does not push the
        expiry forward means the cap is near, quickbooks.md §1.2)."""
        end = self._hard_end(grant)
        rolling = self.policy.refresh_idle_ttl_s
        return rolling if end is None else min(rolling, end - now)

    def _id_token(self, grant: dict[str, Any], now: float) -> str:
        claims = {
            "nbf": int(self.clock.real_epoch(now)),
            "exp": int(self.clock.real_epoch(now + 300)),
            "iss": self.policy.issuer,
            "aud": grant["client_id"],
            "iat": int(self.clock.real_epoch(now)),
            "sub": grant["user_id"].replace("-", ""),
            "xero_userid": grant["user_id"],
            "email": f"user-{grant['user_id'][:8]}@sandbox.invalid",
            "given_name": "Sandbox",
            "family_name": "User",
            "global_session_id": grant["grant_id"].replace("-", ""),
        }
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})

    def refresh(self, app: dict[str, Any], refresh_token: str, secret_given: bool) -> IssuedTokens:
        """refresh_token grant with rotation: the presented token is rotated out but stays usable for the
        grace period (any number of times, per Xero staff); after that, when idle too long, or past the
        hard cap, invalid_grant. A token younger than ``rotate_after_s`` comes back unrotated (QBO)."""
        now = self.clock.now()
        with self.store.lock:
            grant, record = self._find_refresh(refresh_token)
            if grant is None or record is None or grant["client_id"] != app["client_id"] or grant["revoked"]:
                raise OAuthError("invalid_grant")
            if not secret_given and not grant["pkce"]:
                raise OAuthError("invalid_client")
            if now - record["last_used_at"] >= self.policy.refresh_idle_ttl_s:
                raise OAuthError("invalid_grant")
            rotated_at = record["rotated_at"]
            if rotated_at is not None and now - rotated_at >= self.policy.refresh_grace_s:
                raise OAuthError("invalid_grant")
            hard_end = self._hard_end(grant)
            if hard_end is not None and now >= hard_end:
                raise OAuthError("invalid_grant")
            record["last_used_at"] = now
            if rotated_at is None and now - record["issued_at"] < self.policy.rotate_after_s:
                tokens = self._token_set(grant, keep_refresh=refresh_token)
                self.store.save()
                return tokens
            for other in grant["refresh_tokens"].values():
                if other["rotated_at"] is None:
                    other["rotated_at"] = now
            tokens = self._token_set(grant)
            self._prune_refresh(grant, now)
            self.store.save()
            return tokens

    def _prune_refresh(self, grant: dict[str, Any], now: float) -> None:
        grace = self.policy.refresh_grace_s
        grant["refresh_tokens"] = {
            token: record
            for token, record in grant["refresh_tokens"].items()
            if record["rotated_at"] is None or now - record["rotated_at"] < grace
        }

    def _find_refresh(self, token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        for grant in self.store.grants.values():
            record = grant["refresh_tokens"].get(token)
            if record is not None:
                return grant, record
        return None, None

    def revoke_refresh(self, app: dict[str, Any], token: str) -> None:
        """Revocation endpoint: kill the token family and remove the user's connections for the app. The
        token may be a refresh or an access token (QBO accepts either, quickbooks.md §1.1)."""
        with self.store.lock:
            grant, _ = self._find_refresh(token)
            if grant is None:
                grant = self._access_grant(token)
            if grant is None or grant["client_id"] != app["client_id"]:
                return  # RFC 7009: unknown tokens are not an error
            self._revoke_user(grant["client_id"], grant["user_id"])
            self.store.save()

    def _revoke_user(self, client_id: str, user_id: str) -> None:
        for grant in self.store.grants.values():
            if grant["client_id"] == client_id and grant["user_id"] == user_id:
                grant["revoked"] = True
        for connection_id in [
            cid
            for cid, c in self.store.connections.items()
            if c["client_id"] == client_id and c["user_id"] == user_id
        ]:
            del self.store.connections[connection_id]

    def _claims(self, token: str) -> dict[str, Any] | None:
        """A token's claims if this sandbox signed it (life is judged separately, on the sandbox clock)."""
        try:
            return jwt.decode(
                token,
                self._private_key.public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None

    def _access_grant(self, token: str) -> dict[str, Any] | None:
        claims = self._claims(token)
        return None if claims is None else self.store.grants.get(claims.get("authentication_event_id", ""))

    def verify_access(self, token: str) -> Access:
        """Check a bearer token's signature, then its life on the sandbox clock."""
        claims = self._claims(token)
        with self.store.lock:
            grant = self._access_grant(token)
            if claims is None or grant is None:
                raise AccessDenied("invalid")
            expires_at = grant["access_tokens"].get(claims.get("jti"))
            if grant["revoked"]:
                raise AccessDenied("revoked")
            if expires_at is None or self.clock.now() >= expires_at:
                raise AccessDenied("expired", expires_at)
            return Access(
                grant["grant_id"], grant["client_id"], grant["user_id"], frozenset(grant["scope"].split())
            )

    # -- control-plane switches -------------------------------------------------------------------------
    def _matching_grants(self, client_id: str | None, tenant_id: str | None) -> list[dict[str, Any]]:
        users = None
        if tenant_id is not None:
            users = {
                (c["client_id"], c["user_id"])
                for c in self.store.connections.values()
                if c["tenant_id"] == tenant_id
            }
        return [
            g
            for g in self.store.grants.values()
            if (client_id is None or g["client_id"] == client_id)
            and (users is None or (g["client_id"], g["user_id"]) in users)
        ]

    def expire_access_tokens(self, client_id: str | None, tenant_id: str | None) -> int:
        """Make every live access token of the matching grants expire now (refresh still works)."""
        now = self.clock.now()
        with self.store.lock:
            grants = self._matching_grants(client_id, tenant_id)
            for grant in grants:
                grant["access_tokens"] = {jti: min(exp, now) for jti, exp in grant["access_tokens"].items()}
            self.store.save()
            return len(grants)

    def revoke(self, client_id: str | None, tenant_id: str | None) -> int:
        """Revoke the matching grants as the user would by disconnecting the app."""
        with self.store.lock:
            grants = self._matching_grants(client_id, tenant_id)
            for grant in grants:
                self._revoke_user(grant["client_id"], grant["user_id"])
            self.store.save()
            return len(grants)

    # -- connections ------------------------------------------------------------------------------------
    def connections_for(self, access: Access) -> list[dict[str, Any]]:
        with self.store.lock:
            return [
                c
                for c in self.store.connections.values()
                if c["client_id"] == access.client_id and c["user_id"] == access.user_id
            ]

    def connected_tenants(self, client_id: str) -> set[str]:
        """Organisations an app is connected to (by any user)."""
        with self.store.lock:
            return {c["tenant_id"] for c in self.store.connections.values() if c["client_id"] == client_id}

    def connected_apps(self, tenant_id: str) -> set[str]:
        """Apps connected to an organisation (by any user)."""
        with self.store.lock:
            return {c["client_id"] for c in self.store.connections.values() if c["tenant_id"] == tenant_id}

    def can_reach(self, access: Access, tenant_id: str) -> bool:
        return any(c["tenant_id"] == tenant_id for c in self.connections_for(access))

    def disconnect(self, access: Access, connection_id: str) -> bool:
        with self.store.lock:
            connection = self.store.connections.get(connection_id)
            if connection is None or (connection["client_id"], connection["user_id"]) != (
                access.client_id,
                access.user_id,
            ):
                return False
            del self.store.connections[connection_id]
            self.store.save()
            return True

    def jwks(self) -> dict[str, Any]:
        public = self._private_key.public_key()
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": self.key_id, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}


def format_expired_at(sandbox_time: float) -> str:
    """Xero's TokenExpired timestamp form: ``03/03/2020 09:46:07`` (UTC)."""
    return datetime.fromtimestamp(sandbox_time, UTC).strftime("%m/%d/%Y %H:%M:%S")
