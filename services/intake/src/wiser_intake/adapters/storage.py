"""Document bytes in S3 (boto3). Keys are opaque ids, never PHI; objects are encrypted (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

# Up to this size one PUT; above it an S3 multipart upload of 8 MB parts read from the (disk-spooled) file.
SINGLE_PUT_LIMIT = 8 * 1024 * 1024
TRANSFER = TransferConfig(
    multipart_threshold=SINGLE_PUT_LIMIT, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2, use_threads=True
)


class DocumentStore:
    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        sse: str | None = "AES256",
    ) -> None:
        self.bucket = bucket
        self.sse = sse
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=50,
                s3={"addressing_style": "path"},
            ),
        )

    async def ensure_bucket(self) -> None:
        def _ensure() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(_ensure)

    async def put(self, key: str, fileobj: IO[bytes], content_type: str, sha256_hex: str) -> None:
        extra: dict[str, Any] = {"ContentType": content_type, "Metadata": {"sha256": sha256_hex}}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        fileobj.seek(0, 2)
        size = fileobj.tell()
        fileobj.seek(0)
        if size <= SINGLE_PUT_LIMIT:
            # One request: the transfer manager's thread pool per upload costs more than the upload itself.
            await asyncio.to_thread(
                self._client.put_object, Bucket=self.bucket, Key=key, Body=fileobj, ContentLength=size, **extra
            )
        else:
            await asyncio.to_thread(
                self._client.upload_fileobj, fileobj, self.bucket, key, ExtraArgs=extra, Config=TRANSFER
            )

    async def get(self, key: str) -> bytes:
        def _get() -> bytes:
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise LookupError(key) from e
                raise

        return await asyncio.to_thread(_get)

    async def open(self, key: str, chunk: int = 256 * 1024) -> tuple[AsyncIterator[bytes], int]:
        """The object's bytes as they come from S3, a chunk at a time (never the whole object in memory), and
        its length. LookupError when there is no such object."""

        def _open() -> Any:
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise LookupError(key) from e
                raise

        response = await asyncio.to_thread(_open)
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while data := await asyncio.to_thread(body.read, chunk):
                    yield data
            finally:
                await asyncio.to_thread(body.close)

        return chunks(), int(response["ContentLength"])

    async def older_than(self, prefix: str, before: datetime) -> list[str]:
        """Keys under `prefix` last written before `before` (the orphan sweep's candidates)."""

        def _list() -> list[str]:
            keys: list[str] = []
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", []) if o["LastModified"] < before]
            return keys

        return await asyncio.to_thread(_list)

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await asyncio.to_thread(
                self._client.delete_objects, Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys]}
            )

    async def count(self, prefix: str = "") -> int:
        def _count() -> int:
            total = 0
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                total += page.get("KeyCount", 0)
            return total

        return await asyncio.to_thread(_count)

    async def ping(self) -> None:
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
