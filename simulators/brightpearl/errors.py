"""The error a Brightpearl operation raises; the HTTP layer renders it as ``{"errors":[...]}``."""

from __future__ import annotations


class BPError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, list[dict[str, str]]]:
        return {"errors": [{"code": self.code, "message": self.message}]}
