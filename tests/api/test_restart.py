"""The embedded default survives a restart: ledger in SQLite, velocity windows on disk."""

from pathlib import Path

import httpx

from riskops.app import create_app
from riskops.auth.roles import Role
from tests.conftest import create_keys, make_settings
from tests.payments import new_key, payment


async def _submit_twice_and_count(
    tmp_path: Path, keys: dict[Role, str] | None
) -> tuple[int, dict[Role, str]]:
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        keys = keys or await create_keys(app.state.runtime.engine)
        headers = {"Authorization": f"Bearer {keys[Role.SERVICE]}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            for _ in range(2):
                response = await client.post(
                    "/v1/transactions",
                    json=payment(),
                    headers={**headers, "Idempotency-Key": new_key()},
                )
                assert response.status_code == 201
            detail = await client.get(f"/v1/transactions/{response.json()['id']}", headers=headers)
    return detail.json()["features"]["card_count_24h"], keys


async def test_velocity_windows_survive_a_restart(tmp_path: Path) -> None:
    first, keys = await _submit_twice_and_count(tmp_path, None)
    assert first == 2
    assert (tmp_path / "features.json").exists()
    second, _ = await _submit_twice_and_count(tmp_path, keys)
    assert second == 4
