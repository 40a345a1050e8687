"""`python -m simulators KIND --seed FILE` serves the seeded world over HTTP until stopped."""

import json
import re
import signal
import subprocess
import sys

import pytest
import requests


@pytest.mark.parametrize(("kind", "seed", "probe"), [
    ("brightpearl", {"warehouses": [{"id": 2, "name": "Main"}], "products": [{"id": 5, "sku": "A"}],
                     "stock": [{"productId": 5, "warehouseId": 2, "onHand": 3}]},
     "/public-api/acme/warehouse-service/product-availability/5"),
    ("spapi", {}, "/_sim/state"),
])
def test_standalone_simulator_serves_its_seed(tmp_path, kind, seed, probe):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    proc = subprocess.Popen([sys.executable, "-m", "simulators", kind, "--seed", str(seed_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"listening on (http://\S+)", line).group(1)
        headers = {"brightpearl-app-ref": "acme_connector", "brightpearl-account-token": "account-token"}
        resp = requests.get(url + probe, headers=headers, timeout=10)
        assert resp.status_code == 200, resp.text
        if kind == "brightpearl":
            assert resp.json()["response"]["5"]["total"]["onHand"] == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
