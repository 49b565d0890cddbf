"""OpenID Connect sign-in as use cases: the sign-in in flight (state, nonce, PKCE verifier, usable once), and
what a verified ID token does to the account: find it (by the provider's subject, else by a verified email),
create it when just-in-time accounts are on, and set its role and team memberships from the provider's groups
(ADR 0037). Deactivation through SCIM reuses the administrators' deactivation and revokes the API tokens."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.admin import service as admin
from tocsin.admin.service import DeactivationImpact
from tocsin.audit import service as audit
from tocsin.core.errors import Conflict, Forbidden, NotFound
from tocsin.core.ids import hash_token
from tocsin.settings import OidcTeamGrant, Settings
from tocsin.sso import repository as repo
from tocsin.sso.models import OidcSignInState, SsoIdentity
from tocsin.sso.oidc import SignInRefused, new_secret
from tocsin.teams import repository as team_repo
from tocsin.teams import service as teams
from tocsin.users import repository as users_repo
from tocsin.users import service as users
from tocsin.users.models import User

# How long a person may take at the provider between the button and the callback.
STATE_LIFETIME = timedelta(minutes=10)
# Lowest to highest: the highest role any of a person's groups grants is theirs.
ROLE_RANK = ("observer", "responder", "admin")
TEAM_ROLE_RANK = ("member", "manager")

SSO_SIGN_IN_REFUSED = "auth.sso_sign_in_refused"
SSO_DEACTIVATED = "auth.sso_deactivated"


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in sent to the provider: what the callback must find again."""

    state: str
    nonce: str
    code_verifier: str


def start(session: Session, *, next_path: str, now: datetime) -> Pending:
    """Record a new sign-in in flight; only the state's hash is stored (the browser holds the state itself)."""
    repo.delete_expired_states(session, now)
    pending = Pending(state=new_secret(), nonce=new_secret(), code_verifier=new_secret())
    repo.add_state(
        session,
        OidcSignInState(
            state_hash=hash_token(pending.state),
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            next_path=next_path[:500],
            created_at=now,
            expires_at=now + STATE_LIFETIME,
        ),
    )
    return pending


def redeem(session: Session, state: str, *, now: datetime) -> OidcSignInState:
    """The sign-in in flight this state names, removed so that it cannot be used again; SignInRefused when the
    state is unknown, used already or expired."""
    if not state or len(state) > 200:
        raise SignInRefused("the sign-in came back without its state; start again from the sign-in page")
    row = repo.take_state(session, hash_token(state))
    if row is None:
        raise SignInRefused("this sign-in is unknown or was already used; start again from the sign-in page")
    if row.expires_at <= now:
        raise SignInRefused("this sign-in took too long and expired; start again from the sign-in page")
    return row


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _verified(claims: Mapping[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def groups_of(claims: Mapping[str, Any], claim: str) -> set[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {g for g in value if isinstance(g, str)}
    return set()


def role_for(groups: set[str], settings: Settings) -> str | None:
    """The Tocsin role the groups give, or None when no role mapping is configured (the role is then left as
    it is, and new accounts get the default role)."""
    if not settings.oidc_group_roles:
        return None
    granted = [settings.oidc_group_roles[g] for g in groups if g in settings.oidc_group_roles]
    if not granted:
        return settings.oidc_default_role
    return max(granted, key=ROLE_RANK.index)


def teams_for(groups: set[str], mapping: Mapping[str, OidcTeamGrant]) -> dict[str, str]:
    """Team name -> team role the groups give (the highest, when several groups name one team)."""
    wanted: dict[str, str] = {}
    for group in groups:
        grant = mapping.get(group)
        if grant is None:
            continue
        current = wanted.get(grant.team)
        if current is None or TEAM_ROLE_RANK.index(grant.role) > TEAM_ROLE_RANK.index(current):
            wanted[grant.team] = grant.role
    return wanted


def _check_domain(email: str, settings: Settings) -> None:
    domains = settings.oidc_domains
    if domains and email.rpartition("@")[2].lower() not in domains:
        raise Forbidden(f"accounts of {email.rpartition('@')[2]!r} may not sign in here; ask an admin")


def sign_in(session: Session, claims: Mapping[str, Any], *, settings: Settings, now: datetime) -> User:
    """The account these verified ID token claims sign in to, created or updated as the settings say; refusals
    (SignInRefused, Forbidden) leave everything as it was (the caller's transaction is rolled back)."""
    issuer = settings.oidc_issuer or ""
    subject = _text(claims, "sub", 255)
    if not subject:
        raise SignInRefused("the ID token names no subject")
    email = _text(claims, "email", 320).lower()
    identity = repo.identity(session, issuer, subject)
    groups = groups_of(claims, settings.oidc_groups_claim)
    role = role_for(groups, settings)
    if identity is not None:
        user = users_repo.get(session, identity.user_id)
        if user is None:
            raise NotFound("the account of this sign-in no longer exists")
    else:
        if not email:
            raise SignInRefused("the identity provider sent no email address (is 'email' among the scopes?)")
        if not _verified(claims):
            raise SignInRefused(
                f"the identity provider has not verified the email address {email}; only a verified address can "
                "sign in to an account"
            )
        _check_domain(email, settings)
        user = users_repo.by_email(session, email)
        if user is None:
            if not settings.oidc_create_accounts:
                raise Forbidden(f"there is no account for {email}; ask an admin to create one")
            name = _text(claims, "name", 200) or " ".join(
                p for p in (_text(claims, "given_name", 100), _text(claims, "family_name", 100)) if p
            )
            user = users.create_user(
                session, email=email, name=name or email, role=role or settings.oidc_default_role, now=now
            )
        elif repo.identity_of_user(session, user.id) is not None:
            raise Forbidden(f"the account {email} signs in as another identity of the provider")
        identity = SsoIdentity(user_id=user.id, issuer=issuer, subject=subject, created_at=now)
        repo.add_identity(session, identity)
    _check_domain(user.email, settings)
    if user.deactivated_at is not None:
        raise Forbidden("this account is deactivated; ask an admin")
    if role is not None and role != user.role:
        # The last active admin keeps the role: the installation would otherwise have no admin left.
        with contextlib.suppress(Conflict):
            users.update_user(session, user, role=role)
    sync_teams(session, user, teams_for(groups, settings.oidc_group_teams))
    identity.last_sign_in_at = now
    session.flush()
    return user


def sync_teams(session: Session, user: User, wanted: Mapping[str, str]) -> None:
    """Make the memberships the mapping gives match ``wanted`` (team name -> role): add the missing ones, set
    their role, remove those whose group is gone. Memberships made by hand are left alone."""
    granted = repo.granted_team_ids(session, user.id)
    keep: set[int] = set()
    for name, team_role in wanted.items():
        team = team_repo.by_name(session, name)
        if team is None:
            continue  # a mapping naming a team that does not exist (yet) gives nothing
        membership = team_repo.membership(session, team.id, user.id)
        if membership is not None and team.id not in granted:
            continue  # made by hand
        teams.set_member(session, team, user, team_role)
        if team.id not in granted:
            repo.add_grant(session, team.id, user.id)
        keep.add(team.id)
    for team_id in granted - keep:
        if team_repo.membership(session, team_id, user.id) is not None:
            team_repo.remove_member(session, team_id, user.id)
        repo.delete_grant(session, team_id, user.id)
    session.flush()


def is_managed(session: Session, user_id: int) -> bool:
    return repo.identity_of_user(session, user_id) is not None


def deactivate(session: Session, user: User, *, now: datetime) -> DeactivationImpact | None:
    """Deactivate as an administrator does (signed out, no longer paged, the last admin kept) and revoke the
    user's API tokens; None when the account was deactivated already."""
    if user.deactivated_at is not None:
        return None
    impact = admin.deactivate_user(session, user, now=now)
    revoked = users.revoke_tokens_of(session, user.id, now=now)
    audit.record(session, SSO_DEACTIVATED, object_type="user", object_id=str(user.id), data={"tokens_revoked": revoked})
    return impact
