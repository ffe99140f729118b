"""Letter PDFs in S3 (boto3): keys are opaque ids, objects encrypted at rest (SSE)."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class PdfStore:
    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        sse: str | None = "AES256",
    ) -> None:
        self.bucket, self.sse = bucket, sse
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    async def ensure_bucket(self) -> None:
        def _ensure() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(_ensure)

    async def put(self, key: str, data: bytes, sha256_hex: str) -> None:
        extra: dict[str, Any] = {"ContentType": "application/pdf", "Metadata": {"sha256": sha256_hex}}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        await asyncio.to_thread(self._client.put_object, Bucket=self.bucket, Key=key, Body=data, **extra)

    async def get(self, key: str) -> bytes:
        def _get() -> bytes:
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise LookupError(key) from e
                raise

        return await asyncio.to_thread(_get)

    async def encryption_of(self, key: str) -> str | None:
        head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        return head.get("ServerSideEncryption")  # type: ignore[no-any-return]

    async def ping(self) -> None:
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
