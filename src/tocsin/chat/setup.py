"""The chat platforms this server is configured for, built from the settings."""

from __future__ import annotations

from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.base import Platform
from tocsin.chat.platforms.graph import GraphRooms
from tocsin.chat.platforms.matrix import MatrixRooms
from tocsin.chat.platforms.slack import SlackRooms
from tocsin.settings import Settings


def chat_platforms(settings: Settings) -> dict[str, Platform]:
    found: dict[str, Platform] = {}
    if settings.slack_bot_token:
        found["slack"] = SlackRooms(settings.slack_bot_token, base_url=settings.slack_base_url)
    if settings.matrix_homeserver_url and settings.matrix_access_token:
        found["matrix"] = MatrixRooms(settings.matrix_homeserver_url, settings.matrix_access_token)
    if (
        settings.graph_tenant_id
        and settings.graph_client_id
        and settings.graph_client_secret
        and settings.teams_team_id
    ):
        found["teams"] = GraphRooms(
            base_url=settings.graph_base_url,
            token_url=settings.graph_token_url
            or f"https://login.microsoftonline.com/{settings.graph_tenant_id}/oauth2/v2.0/token",
            client_id=settings.graph_client_id,
            client_secret=settings.graph_client_secret,
            team_id=settings.teams_team_id,
        )
    return found


def chat_matrix(settings: Settings) -> MatrixRooms | None:
    """The bot's own client for its sync (commands and reactions), apart from the rooms' client."""
    if settings.matrix_homeserver_url and settings.matrix_access_token:
        return MatrixRooms(settings.matrix_homeserver_url, settings.matrix_access_token)
    return None


def configured(settings: Settings) -> list[str]:
    """The platform names, without building clients (what a request is checked against)."""
    names = []
    if settings.slack_bot_token:
        names.append("slack")
    if settings.matrix_homeserver_url and settings.matrix_access_token:
        names.append("matrix")
    if (
        settings.graph_tenant_id
        and settings.graph_client_id
        and settings.graph_client_secret
        and settings.teams_team_id
    ):
        names.append("teams")
    return names


def chat_pacer(settings: Settings) -> Pacer:
    return Pacer(
        {
            "slack": settings.chat_slack_per_second,
            "matrix": settings.chat_matrix_per_second,
            "teams": settings.chat_teams_per_second,
        }
    )
