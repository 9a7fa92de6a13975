"""State across worker processes: the shared stores, and ``--workers N`` on a real port.

Stores are checked alike (memory, LMDB, SQLite, and Redis when redis-server is
installed): order, oldest-first eviction, values and counters. Then two apps
sharing one store see each other's responses, seed and resets; and a real
server with 4 workers answers 200 creates from 4 threads, each retrievable
afterwards, with creates and retrievals served by different processes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

from bench.servers import children_of
from mockserver import create_app
from mockserver.serve.workers import can_spread_connections
from mockserver.state import lmdb_store
from mockserver.state.lmdb_store import LMDBStore
from mockserver.state.sqlite import SQLiteStore
from mockserver.state.store import MemoryStore, StoreURLError, open_store
from mockserver.state.temporary import PREFIX, memory_dir

from .conftest import ROOT, load_fixture
from .servers import ServerProcess, mock_process, wait_until

REQUEST = load_fixture("documented_request.json")
AUTH = {"Authorization": "sk-workers"}


def record(n: int) -> dict:
    return {"response": {"id": f"resp_{n}", "output": [{"text": "你好"}]}, "input_items": [], "conversation": []}


def test_store_keeps_order_and_evicts_oldest_first(store_url):
    store = open_store(store_url, 5)
    for n in range(8):
        store.put(f"resp_{n}", record(n))
    assert store.ids() == [f"resp_{n}" for n in range(3, 8)]
    assert store.get("resp_2") is None and store.get("resp_7") == record(7)
    store.put("resp_3", record(3))  # a re-put is the newest again
    store.put("resp_8", record(8))
    assert store.ids() == ["resp_5", "resp_6", "resp_7", "resp_3", "resp_8"]
    assert len(store) == 5
    assert store.delete("resp_6") and not store.delete("resp_6")
    store.put("resp_9", record(9))
    assert store.ids() == ["resp_5", "resp_7", "resp_3", "resp_8", "resp_9"]
    store.clear()
    assert store.ids() == [] and store.get("resp_9") is None


def test_store_values_and_counters(store_url):
    store = open_store(store_url, 5)
    assert store.get_value("seed") is None and store.get_value("seed", 7) == 7
    store.set_value("seed", 42)
    store.set_value("scenario", {"name": "rate_limited", "left": 2})
    assert store.get_value("seed") == 42 and store.get_value("scenario") == {"name": "rate_limited", "left": 2}
    assert [store.incr("hits") for _ in range(3)] == [1, 2, 3]
    assert store.incr("hits", 5) == 8 and store.get_value("hits") == 8
    store.clear()  # clears records, not values
    assert store.get_value("seed") == 42


def test_store_lists_keep_the_newest(store_url):
    """A named list reads back its newest values, oldest first, however many were pushed (past a trim too)."""
    store = open_store(store_url, 5)
    assert store.newest("recent", 10) == []
    for n in range(128):  # the last one is SQLite's second trim (every 64th value)
        store.push("recent", {"n": n, "text": "你好"}, keep=20)
    assert store.newest("recent", 20) == [{"n": n, "text": "你好"} for n in range(108, 128)]
    assert [value["n"] for value in store.newest("recent", 3)] == [125, 126, 127]
    store.push("other", [1], keep=5)
    store.clear()  # clears records, not lists
    store.drop_list("recent")
    assert store.newest("recent", 20) == [] and store.newest("other", 5) == [[1]]


def test_the_recent_requests_of_two_apps_sharing_a_store_are_one_list(shared_url):
    """What two workers write to the recent requests, each reads back in order, and an admin reset clears for both."""
    first, second = (create_app(store_url=shared_url, log_requests=False).extensions["mock"] for _ in range(2))
    for n in range(6):
        (first if n % 2 else second).remember({"request_id": f"req-{n}"})
    assert [entry["request_id"] for entry in first.recent.latest(4)] == ["req-2", "req-3", "req-4", "req-5"]
    assert second.recent.latest() == first.recent.latest()
    first.recent.clear()
    assert second.recent.latest() == []


def test_records_come_back_as_copies(store_url):
    store = open_store(store_url, 5)
    original = record(1)
    store.put("resp_1", original)
    original["response"]["output"].clear()
    fetched = store.get("resp_1")
    fetched["response"]["id"] = "changed"
    assert store.get("resp_1") == record(1)


def test_store_urls_are_checked(tmp_path):
    assert isinstance(open_store(None, 3), MemoryStore)
    (tmp_path / "a-file").write_text("not a folder")
    for url in (f"lmdb:///{tmp_path / 'a-file'}", f"sqlite:///{tmp_path / 'a-file' / 'x.db'}"):
        with pytest.raises(StoreURLError, match="cannot open the store"):  # said once, without a traceback
            open_store(url, 3)
    with pytest.raises(StoreURLError):
        open_store("postgres://x/y", 3)
    with pytest.raises(StoreURLError):
        open_store("sqlite://relative.db", 3)
    with pytest.raises(StoreURLError):
        open_store("lmdb://relative", 3)
    for url, kind in (("sqlite:///:temp:", SQLiteStore), ("lmdb:///:temp:", LMDBStore)):
        temporary = open_store(url, 3)
        assert isinstance(temporary, kind) and temporary.path.exists()
        temporary.close_and_remove()
        assert not temporary.path.parent.exists()


def test_an_lmdb_store_keeps_ids_whole_even_with_a_nul_in_them(tmp_path):
    """A record is kept as id, NUL, JSON: an id that holds a NUL must not be cut at it."""
    store = open_store(f"lmdb:///{tmp_path / 'nul.lmdb'}", 2)
    for key in ("resp\0a", "resp_b", "resp_c\0"):
        store.put(key, record(len(key)))
    assert store.ids() == ["resp_b", "resp_c\0"]  # the first evicted by its whole id
    assert store.get("resp_c\0") == record(7) and store.get("resp\0a") is None


def test_a_full_lmdb_map_drops_the_oldest_records_to_make_room(tmp_path):
    """A temporary store's map is as large as its filesystem allowed: when it is full, the oldest records go
    (as past the cap), the new one is kept, and a record larger than the whole map is an error."""
    import lmdb

    store = LMDBStore(tmp_path / "small.lmdb", 1000, owned_dir=tmp_path, map_size=512 * 1024)
    for n in range(200):  # 200 records of 18 KB: seven times the map
        store.put(f"resp_{n}", {"n": n, "text": "你好" * 3000})
    kept = store.ids()
    assert kept[-1] == "resp_199" and 5 < len(kept) < 30
    assert kept == [f"resp_{n}" for n in range(200 - len(kept), 200)]  # the newest, in order
    with pytest.raises(lmdb.MapFullError):
        store.put("resp_huge", {"text": "x" * 2_000_000})


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads the map's resident size from /proc")
def test_an_lmdb_store_does_not_keep_the_pages_it_has_read_resident(tmp_path):
    """Reading every record of a store of 10 MiB maps every page of it; the process lets go of them as it goes."""
    store = LMDBStore.temporary(1000)
    try:
        for n in range(600):
            store.put(f"resp_{n}", {"n": n, "text": "你好" * 3000})
        for key in store.ids():
            assert store.get(key) is not None
        data_file = os.path.realpath(store.path / "data.mdb")
        assert os.stat(data_file).st_blocks * 512 > 10 * 2**20
        assert resident_kib(data_file) < 5 * 1024  # what was read since the last release, not the whole file
    finally:
        store.close_and_remove()


def resident_kib(mapped_file: str) -> int:
    """This process's resident KiB of its maps of ``mapped_file`` (``/proc/self/smaps``)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.endswith(" " + mapped_file)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def in_a_child(work) -> str:
    """``work()`` run in a forked child; what it returned (a string), once the child has ended."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        reported = "failed"
        try:
            reported = work()
        finally:
            os.write(write, reported.encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as reader:
        reported = reader.read()
    os.waitpid(pid, 0)
    return reported


def test_an_lmdb_store_used_before_a_fork_serves_parent_and_child(tmp_path):
    """LMDB refuses a second open of one file in a process, and a child inherits its parent's: the child
    opens its own, and what each writes the other reads."""
    store = open_store(f"lmdb:///{tmp_path / 'forked.lmdb'}", 10)
    store.put("resp_parent", record(1))  # the parent's environment is open when it forks

    def in_the_child() -> str:
        seen = store.get("resp_parent") == record(1)
        store.put("resp_child", record(2))
        own = [key for key in lmdb_store._ENVIRONMENTS if key[1] == os.getpid()]  # not the parent's, reused
        return "0" if seen and own else "3"

    assert in_a_child(in_the_child) == "0"
    assert store.ids() == ["resp_parent", "resp_child"]


def test_each_process_writes_its_own_part_of_an_lmdb_list_and_reads_them_as_one(tmp_path):
    """So that the recent-requests entry every request writes never waits for another worker's writer lock.

    A living process keeps its part; one that has ended leaves it, with its
    values, to the next: no more parts than processes at once.
    """
    store = open_store(f"lmdb:///{tmp_path / 'lists.lmdb'}", 10)
    store.push("recent", {"n": 0}, keep=20)

    def push(*numbers: int):
        def work() -> str:
            for n in numbers:
                store.push("recent", {"n": n}, keep=20)
            return lmdb_store._CLAIMED[(str(store.path / lmdb_store.LISTS), os.getpid())][0].name

        return work

    assert in_a_child(push(1, 2)) == "1"  # part 0 is the parent's, held while it lives
    store.push("recent", {"n": 3}, keep=20)
    assert in_a_child(push(4)) == "1"  # the ended child's part, taken over
    assert sorted(path.name for path in (store.path / lmdb_store.LISTS).iterdir()) == ["0", "1"]
    assert [value["n"] for value in store.newest("recent", 20)] == [0, 1, 2, 3, 4]  # in the order they came
    assert [value["n"] for value in store.newest("recent", 2)] == [3, 4]
    assert in_a_child(lambda: json.dumps([v["n"] for v in store.newest("recent", 20)])) == "[0, 1, 2, 3, 4]"
    store.drop_list("recent")
    assert store.newest("recent", 20) == []


def test_a_part_of_an_lmdb_list_is_trimmed_to_its_newest(tmp_path):
    """Each list of a part on its own, though pushes to two lists alternate."""
    store = LMDBStore(tmp_path / "trimmed.lmdb", 10)
    for n in range(300):
        store.push("recent", {"n": n}, keep=20)
        store.push("other", {"n": n}, keep=20)
    part = store._own_lists()
    with part.env.begin() as txn:
        keys = [bytes(key) for key in txn.cursor(db=part.dbs[b"lists"]).iternext(values=False)]
    for name in (b"recent\0", b"other\0"):
        kept = sum(key.startswith(name) for key in keys)
        assert 20 <= kept < 20 + LMDBStore.TRIM_EVERY  # trimmed every TRIM_EVERY values, never below keep
    assert [value["n"] for value in store.newest("recent", 20)] == list(range(280, 300))


def test_a_push_counts_as_a_call_of_the_store_whose_pages_are_let_go_every_so_many_calls(tmp_path):
    """The list is in a part of its own, but the pushes still set how often the store's pages are let go:
    not counted, a worker held 3.5 MiB more at its peak."""
    store = LMDBStore(tmp_path / "counted.lmdb", 10)
    opened = lmdb_store._ENVIRONMENTS[(str(store.path), os.getpid())]
    before = opened.calls
    for n in range(5):
        store.push("recent", {"n": n}, keep=20)
    assert opened.calls == before + 5


def test_concurrent_writers_lose_nothing(store_url):
    """4 threads, each with its own store object (as separate processes have), 50 puts each."""
    if store_url == "memory://":
        pytest.skip("a memory store is not shared between store objects")
    stores = [open_store(store_url, 10_000) for _ in range(4)]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(50):
                stores[index].put(f"resp_{index}_{n}", record(n))
                stores[index].incr("puts")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(stores[0]) == 200 and stores[3].get_value("puts") == 200
    assert sorted(stores[1].ids()) == sorted(f"resp_{i}_{n}" for i in range(4) for n in range(50))


def test_eviction_is_exact_under_concurrent_writers(tmp_path):
    url = f"sqlite:///{tmp_path / 'small.db'}"
    stores = [open_store(url, 20) for _ in range(3)]
    threads = [
        threading.Thread(target=lambda s=s, i=i: [s.put(f"r{i}_{n}", record(n)) for n in range(40)])
        for i, s in enumerate(stores)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(stores[0]) == 20 and len(stores[0].ids()) == 20


# --- two apps sharing one store: what two worker processes see --------------


def test_two_apps_share_responses_seed_quota_and_reset(shared_url):
    keys = [{"key": "sk-limited", "quota": 3}]
    one = create_app(store_url=shared_url, seed=5, api_keys=keys, log_requests=False, serve_stored_routes=True)
    two = create_app(
        store=open_store(shared_url, 10_000), seed=5, api_keys=keys, log_requests=False, serve_stored_routes=True
    )
    a, b = one.test_client(), two.test_client()
    auth = {"Authorization": "sk-limited"}
    created = a.post("/v1/responses", json=REQUEST, headers=auth).get_json()
    assert b.get(f"/v1/responses/{created['id']}", headers=auth).get_json() == created
    # key usage is counted in the store: the quota of 3 holds across both
    assert b.post("/v1/responses", json={**REQUEST, "store": False}, headers=auth).status_code == 200
    assert a.post("/v1/responses", json={**REQUEST, "store": False}, headers=auth).status_code == 200
    assert b.post("/v1/responses", json=REQUEST, headers=auth).status_code == 401
    # the seed is shared: set on one, used by the other
    one.extensions["mock"].seed = 99
    assert two.extensions["mock"].seed == 99
    # a reset on one clears responses and usage for both, and restores the seed
    two.extensions["mock"].reset()
    assert a.get(f"/v1/responses/{created['id']}", headers=auth).status_code == 404
    assert one.extensions["mock"].seed == 5
    assert a.post("/v1/responses", json=REQUEST, headers=auth).status_code == 200


def test_same_seed_same_text_across_apps(shared_url):
    one = create_app(store_url=shared_url, seed=11, log_requests=False)
    two = create_app(store=open_store(shared_url, 100), seed=11, log_requests=False)
    texts = [
        app.test_client()
        .post("/v1/responses", json={**REQUEST, "input": "How do I test a gateway?"}, headers=AUTH)
        .get_json()["output"][-1]["content"][0]["text"]
        for app in (one, two)
    ]
    assert texts[0] == texts[1]


def test_several_workers_need_a_shared_store():
    from mockserver.config import ConfigError

    with pytest.raises(ConfigError, match="shared store"):
        create_app(workers=2, store_url="memory://")


# --- a real server with 4 worker processes ------------------------------------

_LOG_LINE = re.compile(r"mockserver\[(\d+)\]: (GET|POST) /v1/responses\S* (\d{3}) ([0-9a-f]{32})")


def served_by(server: ServerProcess) -> dict[str, int]:
    """Request id -> pid of the worker that logged it."""
    return {m.group(4): int(m.group(1)) for line in list(server.output) for m in [_LOG_LINE.search(line)] if m}


def hammer(base: str, creates: int, threads: int) -> tuple[list[tuple[str, str]], list[BaseException]]:
    """``creates`` creates from ``threads`` threads, each on a new connection; (response id, request id) pairs."""
    made: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        try:
            with httpx.Client(
                base_url=base, headers=AUTH, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)
            ) as http:
                for _ in range(count):
                    reply = http.post("/v1/responses", json=REQUEST)
                    assert reply.status_code == 200, reply.text
                    with lock:
                        made.append((reply.json()["id"], reply.headers["X-Oneapi-Request-Id"]))
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=client, args=(creates // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    return made, errors


def run_workers(store_args: list[str], tmp_path: Path) -> None:
    with mock_process(
        "--workers", "4", "--threads", "4", "--serve-stored-routes", *store_args, keep_lines=5000
    ) as server:
        base = server.base
        made, errors = hammer(base, 200, 4)
        assert not errors, errors[:3]
        assert len(made) == 200 and len({rid for rid, _ in made}) == 200
        retrieved_by: dict[str, str] = {}
        with httpx.Client(
            base_url=base, headers=AUTH, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            for response_id, _ in made:
                reply = http.get(f"/v1/responses/{response_id}")
                assert reply.status_code == 200, (response_id, reply.text)
                assert reply.json()["id"] == response_id
                retrieved_by[response_id] = reply.headers["X-Oneapi-Request-Id"]
        assert server.stop() == 0  # stopped: every log line the workers wrote has been read
        pids = served_by(server)
        creators = {pids.get(req) for _, req in made} - {None}
        readers = {pids.get(req) for req in retrieved_by.values()} - {None}
        crossed = sum(
            1
            for rid, req in made
            if pids.get(req) and pids.get(retrieved_by[rid]) and pids[req] != pids[retrieved_by[rid]]
        )
        assert len(creators) >= 2 and len(readers) >= 2, (creators, readers)
        assert crossed > 0, "no response was created on one worker and read on another"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_four_workers_sqlite_create_here_retrieve_there(tmp_path):
    run_workers(["--store", f"sqlite:///{tmp_path / 'w.db'}"], tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_four_workers_default_temporary_store_is_removed(tmp_path):
    """The temporary store the workers had open (found through their open files) is gone once they stop."""
    with mock_process("--workers", "4", "--threads", "4") as server:
        made, errors = hammer(server.base, 8, 2)
        assert not errors and len(made) == 8
        held = {store_folder(pid) for pid in children_of(server.pid)} - {None}
        assert len(held) == 1, held  # one store, shared by every worker
        assert server.stop() == 0
    folder = held.pop()
    assert folder is not None and folder.parent == Path(memory_dir() or tempfile.gettempdir())
    assert not folder.exists()


@pytest.mark.parametrize("url", ["lmdb:///:temp:", "sqlite:///:temp:"])
@pytest.mark.timeout(60)
def test_one_process_temporary_store_is_removed(url):
    """``--store ...:temp:`` without workers: the store goes with the server too (it stayed in /dev/shm)."""
    with mock_process("--store", url) as server:
        response = httpx.post(f"{server.base}/v1/responses", json=REQUEST, headers=AUTH, timeout=10)
        assert response.status_code == 200
        folder = store_folder(server.pid)
        assert folder is not None and folder.exists()
        assert server.stop() == 0
    assert not folder.exists()


@pytest.mark.timeout(60)
def test_a_temporary_store_goes_when_the_server_cannot_start(tmp_path, monkeypatch):
    """The port is taken: the workers never start, and the store made for them is removed all the same."""
    from mockserver.serve import cli

    made: list[Path] = []

    def store_directory() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path)))
        return made[-1]

    monkeypatch.setattr(lmdb_store, "store_directory", store_directory)
    for name in ("_srcfile", "logThreads", "logMultiprocessing"):  # the command line sets these for its process
        monkeypatch.setattr(logging, name, getattr(logging, name))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["--port", str(port), "--workers", "2", "--quiet"]) == 2
    assert len(made) == 1 and not made[0].exists()


@pytest.mark.parametrize("kind", ["LMDBStore", "SQLiteStore"])
def test_a_temporary_store_made_in_a_process_of_your_own_goes_when_it_exits(kind):
    """An app made in-process with a temporary store that nobody closes: the store goes at the process's exit."""
    module = "lmdb_store" if kind == "LMDBStore" else "sqlite"
    code = (
        f"from mockserver.state.{module} import {kind}\n"
        f"store = {kind}.temporary(10)\n"
        "store.put('resp_1', {'response': {'id': 'resp_1'}})\n"
        "print(store.path)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip()).parent
    assert folder.name.startswith(PREFIX) and not folder.exists()


def store_folder(pid: int) -> Path | None:
    """The temporary store folder a process has a file of open (a link in ``/proc/PID/fd``), if any."""
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = Path(os.readlink(link))
        except OSError:
            continue
        for folder in target.parents:
            if folder.name.startswith(PREFIX):
                return folder
    return None


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_four_workers_redis_create_here_retrieve_there(redis_url, tmp_path):
    run_workers(["--store", f"{redis_url}?prefix=w{tmp_path.name}"], tmp_path)


@pytest.mark.skipif(not can_spread_connections(), reason="only Linux spreads connections over SO_REUSEPORT sockets")
@pytest.mark.timeout(60)
def test_connections_opened_in_a_burst_reach_every_worker():
    """Twenty bursts of 16 connections, each opened at once (as wrk or an SDK pool does): each reaches both workers.

    With one listening socket shared by the workers, whichever worker woke
    first often accepted a whole burst, and the other worker idled for as
    long as the connections lived (a 1 in 30,000 chance per burst now).
    """
    with mock_process("--workers", "2", "--threads", "4", keep_lines=5000) as server:
        address = httpx.URL(server.base)
        bursts = [create_on_each(connect_at_once(address.host, address.port, 16)) for _ in range(20)]
        assert server.stop() == 0
        pids = served_by(server)
    assert all(request_id in pids for burst in bursts for request_id in burst)
    whole = [burst for burst in bursts if len({pids.get(request_id) for request_id in burst}) < 2]
    assert not whole, f"{len(whole)} of 20 bursts were served by one worker alone"


def connect_at_once(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` connections whose handshakes are all started before any is waited for."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    for sock in sockets:
        sock.setblocking(False)
        sock.connect_ex((host, port))
    for sock in sockets:
        select.select([], [sock], [], 20)
        sock.setblocking(True)
        sock.settimeout(20)
    return sockets


def create_on_each(sockets: list[socket.socket]) -> list[str]:
    """A create on each connection; the request ids of the replies."""
    body = json.dumps(REQUEST).encode()
    head = (
        f"POST /v1/responses HTTP/1.1\r\nHost: mock\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    for sock in sockets:
        sock.sendall(head + body)
    request_ids = []
    for sock in sockets:
        with sock, sock.makefile("rb") as reply:
            headers = reply.read().partition(b"\r\n\r\n")[0].decode("latin-1").lower()
        assert headers.startswith("http/1.1 200"), headers
        request_ids.append(re.search(r"x-oneapi-request-id: (\S+)", headers).group(1))
    return request_ids


@pytest.mark.timeout(120)
def test_quota_holds_across_workers(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"key": "sk-five", "quota": 5}]))
    with mock_process("--workers", "3", "--quiet", "--keys-file", str(keys)) as server:
        statuses = []
        for _ in range(8):  # a new connection each time: spread over the workers
            statuses.append(
                httpx.post(
                    f"{server.base}/v1/responses",
                    json={**REQUEST, "store": False},
                    headers={"Authorization": "sk-five"},
                    timeout=20,
                ).status_code
            )
        assert statuses == [200] * 5 + [401] * 3


@pytest.mark.timeout(60)
def test_a_worker_that_dies_is_replaced(tmp_path):
    import os
    import signal

    with mock_process("--workers", "2", "--quiet") as server:
        assert wait_until(lambda: len(_children(server.pid)) == 2, 30)
        children = _children(server.pid)
        os.kill(children[0], signal.SIGKILL)
        # generous: a new worker imports the whole app, slow on a loaded CI machine
        assert wait_until(lambda: len(_children(server.pid)) == 2 and children[0] not in _children(server.pid), 30)
        assert httpx.post(f"{server.base}/v1/responses", json=REQUEST, headers=AUTH, timeout=20).status_code == 200
        assert server.stop() == 0
    assert _children(server.pid) == []


def _children(pid: int) -> list[int]:
    return children_of(pid)


def test_a_busy_store_is_tried_again_after_short_pauses(monkeypatch):
    """A write that finds another worker's lock tries again after 50 µs, doubling up to 2 ms (not SQLite's 1-2-5-10 ms).

    SQLite's own busy handler made two workers that met on the lock wait
    milliseconds for a lock held some 50 µs.
    """
    import sqlite3

    from mockserver.state import sqlite as sqlite_store

    pauses: list[float] = []
    monkeypatch.setattr(sqlite_store.time, "sleep", pauses.append)
    tries = iter(range(10))

    def busy_nine_times() -> str:
        if next(tries) < 9:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error
        return "written"

    assert sqlite_store._patiently(busy_nine_times, timeout_ms=10_000) == "written"
    assert pauses == [0.00005, 0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.002, 0.002, 0.002]

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: nothing")

    pauses.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        sqlite_store._patiently(broken, timeout_ms=10_000)
    assert pauses == []  # only a busy lock is waited for


def test_a_lock_held_past_the_timeout_is_an_error_not_a_hang(tmp_path):
    """Another connection holds the write lock and keeps it: the store gives up after its busy timeout."""
    import sqlite3

    store = SQLiteStore(tmp_path / "held.db", 10)
    store.BUSY_TIMEOUT_MS = 50
    holder = sqlite3.connect(tmp_path / "held.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.put("resp_1", record(1))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put("resp_1", record(1))  # the lock is free again: the write goes through
    assert store.get("resp_1") == record(1)
