"""``python -m wiser_sandbox``: serve the sandbox on 127.0.0.1:$WISER_SANDBOX_PORT (default 8009), and its SMTP
server on $WISER_SANDBOX_SMTP_PORT when set (`make run`: 8025; unset, none: parallel test systems share no port)."""

import os

import uvicorn

from .app import create_app


def main() -> None:
    port = int(os.environ.get("WISER_SANDBOX_PORT", "8009"))
    host = os.environ.get("WISER_SANDBOX_HOST", "127.0.0.1")  # the image says 0.0.0.0
    smtp_port = int(os.environ.get("WISER_SANDBOX_SMTP_PORT", "0"))
    app = create_app(drop_connections=True, smtp_port=smtp_port, smtp_host=host)
    uvicorn.run(app, host=host, port=port, log_config=None)


if __name__ == "__main__":
    main()
