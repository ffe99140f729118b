from collections.abc import AsyncIterator

import httpx
import pytest

from wiser_sandbox.app import create_app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c
