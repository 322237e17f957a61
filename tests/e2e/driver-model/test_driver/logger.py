"""Model of nixos/lib/test-driver/src/test_driver/logger.py @ 0348869915cd (the parts
scripts and tests/e2e/script-header.py use). Bodies never run."""

from contextlib import AbstractContextManager
from typing import Any


def _model_only() -> NotImplementedError:
    return NotImplementedError("type model of the NixOS test driver; never executed")


class AbstractLogger:
    def log(self, message: str, attributes: dict[str, str] = {}) -> None:  # noqa: B006
        raise _model_only()

    def info(self, *args: Any, **kwargs: Any) -> None:
        raise _model_only()

    def warning(self, *args: Any, **kwargs: Any) -> None:
        raise _model_only()

    def error(self, *args: Any, **kwargs: Any) -> None:
        raise _model_only()

    def nested(
        self,
        message: str,
        attributes: dict[str, str] = {},  # noqa: B006
    ) -> AbstractContextManager[None]:
        raise _model_only()


class CompositeLogger(AbstractLogger):
    logger_list: list[AbstractLogger]

    def __init__(self, logger_list: list[AbstractLogger]) -> None:
        raise _model_only()

    def add_logger(self, logger: AbstractLogger) -> None:
        raise _model_only()
