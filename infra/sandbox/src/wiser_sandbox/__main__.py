"""``python -m wiser_sandbox``: serve the sandbox on 127.0.0.1:$WISER_SANDBOX_PORT (default 8009)."""

import os

import uvicorn

from .app import create_app


def main() -> None:
    port = int(os.environ.get("WISER_SANDBOX_PORT", "8009"))
    uvicorn.run(create_app(drop_connections=True), host="127.0.0.1", port=port, log_config=None)


if __name__ == "__main__":
    main()
