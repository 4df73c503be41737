"""Communities (admin token) and their settings (organiser key)."""

from __future__ import annotations

from fastapi import APIRouter, status

from belonging.service.auth import issue_key
from belonging.service.deps import KEYED_ROUTE_ERRORS, AdminOnly, Conn, OrganiserCommunity
from belonging.service.errors import problem_response
from belonging.service.repository import communities
from belonging.service.schemas import CommunityCreated, CommunityIn, CommunitySettings, CommunitySettingsPatch

router = APIRouter(prefix="/v1/communities", tags=["communities"], responses=KEYED_ROUTE_ERRORS)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommunityCreated,
             dependencies=[AdminOnly], responses={
                 403: problem_response(403, "A valid key that is not the admin token."),
                 409: problem_response(409, "A community with this slug exists already.")})
async def create_community(body: CommunityIn, conn: Conn) -> dict:
    """Create a community; its platform and organiser keys are shown this once."""
    platform, organiser = issue_key("platform"), issue_key("organiser")
    await communities.create(conn, body.slug, body.name, [platform, organiser])
    return {"slug": body.slug, "name": body.name, "platform_key": platform.token,
            "organiser_key": organiser.token}


@router.get("/{slug}/settings", response_model=CommunitySettings, tags=["settings"])
async def get_settings(community: OrganiserCommunity) -> CommunitySettings:
    """The settings in use, defaults included."""
    return CommunitySettings.from_stored(community.settings)


@router.patch("/{slug}/settings", response_model=CommunitySettings, tags=["settings"])
async def patch_settings(body: CommunitySettingsPatch, community: OrganiserCommunity, conn: Conn) -> CommunitySettings:
    """Change some settings; the others keep their values."""
    merged = CommunitySettings.from_stored({**community.settings, **body.changes()})
    await communities.update_settings(conn, community.community_id, merged.model_dump())
    return merged
