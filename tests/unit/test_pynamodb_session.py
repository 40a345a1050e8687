"""pynamodb's models share one botocore session per thread (one parse of botocore's models, not six)."""

from __future__ import annotations

import threading

from connector.adapters import store


def _sessions() -> set[int]:
    return {id(model._get_connection().connection.session) for model in store.MODELS}


def test_every_model_of_a_thread_uses_one_botocore_session() -> None:
    assert len(store.MODELS) > 1
    assert len(_sessions()) == 1


def test_another_thread_gets_its_own_session() -> None:
    # botocore client creation is not thread safe: the sharing stops at the thread.
    here = _sessions()
    there: set[int] = set()
    worker = threading.Thread(target=lambda: there.update(_sessions()))
    worker.start()
    worker.join()
    assert len(there) == 1 and there != here
