"""Reports written a node at a time: the JSON is the document pydantic writes whole, byte for
byte; the console and Markdown say what they said from lists of entries; and no format holds
every node's entry (nor every gate result's) at once while it writes (at 10,000 nodes that was
most of a run's memory)."""

from __future__ import annotations

import gc
import io
import json
from types import SimpleNamespace

import jsonschema
import pytest

from nr_apply.diff import FieldChange
from nr_apply.errors import PushRejected, ReadFailed
from nr_apply.model import EcnThreshold
from nr_apply.outcome import GateResult, NodeOutcome
from nr_apply.report import ReportTarget, write_reports
from nr_apply.report.console import print_run
from nr_apply.report.json_report import json_chunks, to_json
from nr_apply.report.markdown import to_markdown
from nr_apply.report.model import BatchRecord, Entries, NodeEntries, NodeEntry, RunReport, build_report
from nr_apply.schemas import shipped
from test_report_formats import big_fabric, factory_dry_run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)

LOADED = SimpleNamespace(plan=SimpleNamespace(name="p"), file="p.yaml", digest="0" * 64, fabric="lab")
SECRET = "Lossless!Lab42"


def outcomes() -> list[NodeOutcome]:
    """One node of every status, with what a JSON encoder could get wrong: quotes, newlines,
    non-ASCII, markup-like device text, nested values, empty lists and dicts, floats."""
    return [
        NodeOutcome("leaf1", "eos", "applied", phase="switches", batch=1, elapsed_s=1.25,
                    changes=[FieldChange("Ethernet1", "ecn.3", EcnThreshold(min_bytes=150000, max_bytes=2097152), None),
                             FieldChange("Ethernet1", "no_drop_priorities", [], [3, 4]),
                             FieldChange("Ethernet2", "trust", "pcp", "dscp")],
                    native=["qos map dscp 26 to traffic-class 3", 'description "RoCE — über"'],
                    unverified={"dcbx": "no willing bit"}),
        NodeOutcome("leaf2", "nvue", "failed", phase="switches", batch=1, elapsed_s=0.0,
                    error=PushRejected(f"% Invalid input at '[/qos]'\n\tline 3: \"{SECRET}\" \u2192 \\x00", node="leaf2")),
        NodeOutcome("leaf3", "sonic", "rolled_back", phase="switches", batch=2, elapsed_s=3.0,
                    changes=[FieldChange("Ethernet0", "pfc_watchdog", {"action": "drop", "detection_ms": 200},
                                         {"action": "forward", "detection_ms": 400})]),
        NodeOutcome("host1", "linux", "unchanged", unverified={"dcbx": "firmware setting"}),
        NodeOutcome("host2", "linux", "changed", changes=[FieldChange("ens1f0np0", "mtu", 1500, 9000)]),
        NodeOutcome("host3", "linux", "skipped", phase="hosts", batch=1),
        NodeOutcome("host4", "linux", "failed", error=ReadFailed("TimeoutError: no answer in time", node="host4")),
    ]


def report(dry_run: bool = False) -> RunReport:
    gates = [GateResult("pause_rate", "leaf3", False, 1200.5, 1000, detail="worst at Ethernet0"),
             GateResult("ecn", "leaf1", True, "83 marks, 262 CNPs", "n/a", source="gnmi")]
    batches = [BatchRecord(phase="switches", batch=1, nodes=["leaf1", "leaf2"], status="failed")]
    row = {"pause_pps": 12.5, "pause_us": 3.0, "ecn_marked": 83.0, "t": 10.0, "seconds": 5.0}
    kpis = [{"phase": "switches", "batch": 1, "stage": stage, "node": node, "source": "cli", "kpis": {},
             "intervals": [row]} for stage in ("before", "during") for node in ("leaf1", "leaf2")]
    return build_report(LOADED, outcomes(), dry_run=dry_run, exit_code=1, gates=gates, run_id="r1",
                        message="phase switches rolled back", batches=batches, started_at=1.5, kpis=kpis)


def whole(document: RunReport) -> str:
    """What pydantic writes for the document with every entry built at once."""
    listed = document.model_copy(update={"nodes": list(document.nodes)})
    assert isinstance(listed.nodes, list)
    text = listed.model_dump_json(by_alias=True, indent=2) + "\n"
    assert document.model_dump_json(by_alias=True, indent=2) + "\n" == text  # the document dumped whole, too
    return text


def test_the_streamed_json_is_the_whole_document_pydantic_writes_byte_for_byte():
    document = report()
    assert isinstance(document.nodes, NodeEntries) and isinstance(document.gates, Entries)
    streamed = to_json(document)
    assert streamed == whole(document)
    jsonschema.validate(json.loads(streamed), shipped("report"))
    pieces = list(json_chunks(document))
    items = len(document.nodes) + len(document.gates) + len(document.kpis) + len(document.batches)
    assert document.kpis and sum(piece.startswith(("    {", ",\n    {")) for piece in pieces) == items  # one by one


def test_a_report_without_nodes_is_written_whole():
    document = build_report(LOADED, [], dry_run=True, exit_code=0)
    assert to_json(document) == document.model_dump_json(by_alias=True, indent=2) + "\n"
    assert json.loads(to_json(document))["nodes"] == []


def test_the_factory_dry_run_of_a_1000_node_fabric_streams_the_same_json(big_fabric):  # noqa: F811
    document = build_report(LOADED, factory_dry_run(big_fabric), dry_run=True, fabric=big_fabric)
    assert to_json(document) == whole(document)


def test_secrets_are_scrubbed_from_every_piece_of_a_streamed_report(tmp_path):
    path = tmp_path / "report.json"
    write_reports(report(), [ReportTarget("json", path)], secrets={SECRET})
    text = path.read_text()
    assert SECRET not in text and '\\"***\\"' in text
    assert json.loads(text)["nodes"][1]["error"]["step"] == "push"


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("quiet", [True, False])
def test_console_and_markdown_say_the_same_from_entries_built_when_read(dry_run, quiet):
    lazy = report(dry_run)
    listed = lazy.model_copy(update={"nodes": list(lazy.nodes)})
    assert isinstance(listed.nodes, list) and isinstance(lazy.nodes, NodeEntries)

    def console(document):
        buffer = io.StringIO()
        print_run(document, verbose=True, quiet=quiet, file=buffer)
        return buffer.getvalue()

    assert console(lazy) == console(listed)
    assert to_markdown(lazy) == to_markdown(listed)
    text = console(lazy)
    assert "leaf2" in text and "host4" in text  # failures are always shown
    assert ("host2" in text) is (not quiet)  # a pending change only without -q


def test_writing_the_json_report_holds_one_node_entry_at_a_time(big_fabric, tmp_path):  # noqa: F811
    def entries() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, NodeEntry))

    before = entries()
    document = build_report(LOADED, factory_dry_run(big_fabric), dry_run=True)
    alive = [entries() - before for i, _ in enumerate(json_chunks(document)) if i % 250 == 1]
    assert len(alive) == 5 and max(alive) <= 1  # while a node's piece is being written
    assert entries() == before  # and the document keeps none


def test_a_report_that_fails_while_rendering_leaves_the_previous_file_whole(tmp_path):
    from nr_apply.owner_only import write_pieces

    report = tmp_path / "report.json"
    report.write_text('{"previous": true}\n')

    def pieces():
        yield '{"nodes": ['
        raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError):
        write_pieces(report, pieces())
    assert report.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    write_pieces(report, iter(['{"nodes": []}\n']))
    assert report.read_text() == '{"nodes": []}\n' and oct(report.stat().st_mode & 0o777) == "0o600"
