"""HTTP service: OpenAI-compatible moderation, native classification, a guarded chat proxy and
a playground page."""

from oneguard.serve.app import create_app
from oneguard.serve.proxy import create_proxy_app
from oneguard.serve.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "create_proxy_app"]
