"""``links import`` as a job against the local stack: the job id comes back before any SKU is worked,
the chunks are worked one after the other from the ImportLinksQueue with progress, a crashed chunk is
redone without linking or moving anything twice, and a broken chain is resumed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import ListingLink, Setting
from connector.usecases.import_job import chunk_key
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

pytestmark = pytest.mark.e2e
MAIN = 2
SKUS = ["MUG 1/2", "TEA&CO+", "CAFÉ-3", "PLATE-4", "BOWL-5"]


@pytest.fixture
def stack(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK,), amazon_rate_scale=100, bp_limit=10_000) as s:
        s.bp.seed({"warehouses": [{"id": MAIN, "name": "Main DC"}],
                   "products": [{"id": 2000 + i, "sku": sku} for i, sku in enumerate(SKUS)],
                   "stock": [{"productId": 2000 + i, "warehouseId": MAIN, "onHand": 10 + i} for i in range(len(SKUS))]})
        s.amazon.seed({"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "refresh_token": REFRESH_TOKEN},
                       "listings": {sku: {"channel": "MFN", "quantity": 0, "marketplaces": [UK]} for sku in SKUS}})
        s.clear(Setting, ListingLink)
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[MAIN]))
        SettingsRepository().save_channel(UK, ChannelSettings(sync_enabled=True))
        s.purge("ImportLinksQueue", "ImportLinksDLQ")
        yield s


def run(*args: str):
    return CliRunner().invoke(cli, ["--local", "--json", *args], catch_exceptions=False)


def start(tmp_path, skus=SKUS, size=2):
    (tmp_path / "skus.txt").write_text("\n".join([*skus, "NO-SUCH-SKU"]) + "\n", encoding="utf-8")
    out = run("links", "import", str(tmp_path / "skus.txt"), "-m", UK, "--batch-size", str(size))
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def quantities(stack):
    return {sku: stack.amazon.world.listings[sku].quantity for sku in SKUS}


def test_the_job_id_comes_back_at_once_and_the_chunks_are_worked_with_progress(stack, tmp_path):
    patches = len(stack.amazon.requests(route="patchListingsItem"))
    job = start(tmp_path)
    assert (job["total"], job["chunks"]) == (6, 3)
    # Nothing worked yet: the start only stored the job and queued its first chunk.
    assert list(ListingLink.scan()) == []
    status = json.loads(run("links", "import-status", job["job"]).stdout)
    assert (status["state"], status["processed"], status["chunksDone"]) == ("running", 0, 0)

    done = run("links", "import-status", job["job"], "--wait")
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert (body["state"], body["processed"], body["linked"], body["unmatched"]) == ("done", 6, 5, ["NO-SUCH-SKU"])
    assert body["pushed"] == 5 and quantities(stack) == {sku: 10 + i for i, sku in enumerate(SKUS)}
    assert {link.sku for link in ListingLink.scan()} == set(SKUS)
    assert len(stack.amazon.requests(route="patchListingsItem")) - patches == 5
    assert "import " in done.stderr  # the progress bar


def test_a_chunk_whose_worker_crashed_is_redone_without_linking_or_moving_anything_twice(stack, tmp_path):
    job = start(tmp_path)["job"]
    stack.bp.add_fault({"match": "GET .*product-search", "kind": "status", "status": 500, "count": 40})
    failed = run("links", "import-status", job, "--wait", "--stall", "1")  # the chunk's worker keeps failing
    assert failed.exit_code == 1 and "stalled after 0/3" in json.loads(failed.stdout)["error"]
    assert stack.bp.requests(route="product-search") and list(ListingLink.scan()) == []
    stack.bp.clear_faults()
    # As if a worker died after linking chunk 0 but before recording it: its item is still pending.
    assert run("links", "import-status", job, "--wait").exit_code == 0
    item = Setting.get(chunk_key(job, 0))
    item.value = {"status": "pending", "listings": item.value["listings"]}
    item.save()
    stack.bp.adjust_on_hand(2000, MAIN, -4)  # the truth moved meanwhile: the redo pushes what is true now
    assert run("links", "import-status", job, "--resume", "--wait").exit_code == 0
    assert LinkRepository().get(UK, SKUS[0]) is not None and len(list(ListingLink.scan())) == 5
    assert quantities(stack)[SKUS[0]] == 6 and quantities(stack)[SKUS[2]] == 12


def test_a_broken_chain_stalls_visibly_and_resume_finishes_it(stack, tmp_path):
    job = start(tmp_path)["job"]
    assert run("links", "import-status", job).exit_code == 0
    from cli.transport import LocalTransport

    assert LocalTransport().drive("ImportLinksFunction", "ImportLinksQueue") is True  # chunk 0
    stack.drain("ImportLinksQueue")  # chunk 1's message lost
    stalled = run("links", "import-status", job, "--wait")
    assert stalled.exit_code == 1 and "--resume" in json.loads(stalled.stdout)["error"]
    done = run("links", "import-status", job, "--resume", "--wait")
    assert done.exit_code == 0 and json.loads(done.stdout)["processed"] == 6


def test_a_bad_listing_or_marketplace_is_refused_by_name_and_no_job_starts(stack, tmp_path):
    out = CliRunner().invoke(cli, ["--local", "--json", "links", "import", "--sku", "X", "-m", "NOPE"])
    assert out.exit_code == 1 and "NOPE" in json.loads(out.stdout)["error"]
    bad = stack.invoke("ImportLinksFunction", {"action": "start", "marketplaceId": UK,
                                               "listings": [{"sku": "X", "chanel": "MFN"}]})
    assert bad["ok"] is False and "chanel" in bad["error"]
    assert [i.key for i in Setting.scan() if i.key.startswith("import#")] == []
