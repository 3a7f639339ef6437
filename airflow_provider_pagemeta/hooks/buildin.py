"""Buildin hook: connection, auth and the Buildin page calls, on the shared HTTP core."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook


class BuildinHook(PageMetaHook):
    """Talks to the Buildin API with the token from the connection's password.

    :param buildin_conn_id: the Airflow connection id (conn type ``buildin``).
    """

    conn_name_attr = "buildin_conn_id"
    default_conn_name = "buildin_default"
    conn_type = "buildin"
    hook_name = "Buildin"

    cms: ClassVar[str] = "buildin"
    default_base_url: ClassVar[str | None] = "https://api.buildin.ai"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, buildin_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buildin_conn_id, **kwargs)
        self.buildin_conn_id = buildin_conn_id
