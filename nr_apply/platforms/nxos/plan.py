"""The minimal NX-OS change from a running config to a target state, and the managed scope.

The change keeps the names the switch already uses (its class-maps, its policies) and edits
only what differs: the classes of the qos-groups intent names, the `pause`/`mtu` of the
lossless network-qos classes, the queuing classes whose share, priority or ECN changes. The
system default policies (`default-8q-*`) cannot be edited on NX-OS, so a switch still on them
gets a copy of the template (every class the 8q template requires, under nr-apply's policy
names) attached under `system qos`. No template class is ever removed.

Order matters to NX-OS: a qos-group is set by a type qos class before a network-qos class
pauses it; a queuing share is lowered before another is raised (the remaining shares of a
policy may never exceed 100 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nr_apply.model import NodeState, PortLossless
from nr_apply.platforms.nxos.model import (DEFAULT_MTU, GROUPS, WATCHDOG_RESTORE, WATCHDOG_SHUTDOWN, active_nq,
                                           active_out, classification, is_system_default, port_policy,
                                           template_nq, template_out, watchdog)
from nr_apply.platforms.nxos.native import Block, Qos, QueuingClass, load, nq_class, out_class, read

QOS_POLICY = "NR_LOSSLESS_QOS"
NQ_POLICY = "NR_LOSSLESS_NQ"
OUT_POLICY = "NR_LOSSLESS_OUT"
CLASS_PREFIX = "NR_QG"


@dataclass(frozen=True)
class Scope:
    """The managed scope, as data: the top-level blocks and global lines nr-apply writes, and
    the interface lines it writes (everything else on the switch is never touched)."""

    blocks: tuple[str, ...] = ("class-map type qos ", "policy-map type qos ", "policy-map type network-qos ",
                               "policy-map type queuing ", "system qos")
    global_lines: tuple[str, ...] = ("priority-flow-control watch-dog-interval ",
                                     "priority-flow-control watch-dog interval ",
                                     "priority-flow-control watch-dog shutdown-multiplier ",
                                     "priority-flow-control fixed-restore-multiplier ")
    interface_lines: tuple[str, ...] = ("mtu ", "priority-flow-control mode ", "service-policy type qos input ",
                                        "priority-flow-control watch-dog-interval ",
                                        "flowcontrol receive ", "flowcontrol send ")


SCOPE = Scope()


def _shared(target: NodeState) -> PortLossless | None:
    """The system-wide settings come from the ports' intent (validation keeps it one per node)."""
    return next(iter(target.ports.values()), None)


def _ranges(values: list[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


def _ecn_line(p: PortLossless, g: int) -> str | None:
    ecn = p.ecn.get(g)
    if ecn is None:
        return None
    def amount(n: int) -> str:
        return f"{n // 1024} kbytes" if n % 1024 == 0 and n else f"{n} bytes"
    return (f"random-detect minimum-threshold {amount(ecn.min_bytes)} maximum-threshold {amount(ecn.max_bytes)} "
            f"drop-probability {max(ecn.probability, 1)} weight 0 ecn")


def _classification_lines(tree: Block, qos: Qos, target: NodeState) -> tuple[list[str], str | None]:
    """Class-maps and the type qos policy; returns the lines and the policy ports attach."""
    p = _shared(target)
    if p is None or p.trust in (None, "none"):
        return [], None
    policy = next((port_policy(qos, n) for n in target.ports if port_policy(qos, n)), None) or QOS_POLICY
    want: dict[int, list[str]] = {}
    if p.trust == "dscp":
        for dscp, g in p.dscp_tc_map().items():
            want.setdefault(g, []).append(dscp)
    cos: dict[int, list[int]] = {}
    for c, g in p.priority_to_tc.items():
        if g != 0:
            cos.setdefault(g, []).append(c)
    lines: list[str] = []
    classes = dict(qos.qos_policies.get(policy, {}))  # class -> group
    by_group = {g: c for c, g in classes.items()}
    policy_lines: list[str] = []
    removals: list[str] = []  # after the additions: a qos-group stays set while its class is swapped
    groups = sorted(set(want) | set(cos) | set(by_group))
    for g in groups:
        matches = ([f"match dscp {_ranges(want[g])}"] if want.get(g) else []) + \
                  ([f"match cos {_ranges(cos[g])}"] if cos.get(g) else [])
        name = by_group.get(g)
        if g == 0 and not matches:
            continue
        if name is None:
            if not matches:
                continue
            name = f"{CLASS_PREFIX}{g}"
            policy_lines += [f"  class {name}", f"    set qos-group {g}"]
        elif not matches:
            removals.append(f"  no class {name}")
            continue
        have = qos.class_maps.get(name)
        header = next((c.text for c in tree.children if c.text.startswith("class-map type qos ")
                       and c.text.split()[-1] == name), "")
        if have is not None and len(matches) > 1 and "match-any" not in header and sorted(have) != sorted(matches):
            # A match-all class would need every criterion at once: the group gets a match-any
            # class of its own in the same policy.
            removals.append(f"  no class {name}")
            name = f"{CLASS_PREFIX}{g}"
            policy_lines += [f"  class {name}", f"    set qos-group {g}"]
            have = qos.class_maps.get(name)
        if have is None:
            lines += [f"class-map type qos match-any {name}"] + [f"  {m}" for m in matches]
        elif sorted(have) != sorted(matches):
            lines += [next(c.text for c in tree.children if c.text.startswith("class-map type qos ")
                           and c.text.split()[-1] == name)] + [f"  no {m}" for m in have if m not in matches] + \
                     [f"  {m}" for m in matches if m not in have]
    policy_lines += removals
    if policy_lines or policy not in qos.qos_policies:
        lines += [f"policy-map type qos {policy}"] + policy_lines
    return lines, policy


def _watchdog_lines(qos: Qos, target: NodeState) -> list[str]:
    p = _shared(target)
    want = p.pfc_watchdog if p is not None and p.pfc_watchdog and p.pfc_watchdog.enabled else None
    have = watchdog(qos)
    if want is None:
        return ["priority-flow-control watch-dog-interval off"] if have is not None else []
    if have == want.model_copy(update={"action": "drop"}):
        return []
    interval = math.gcd(want.detection_ms, want.restoration_ms)
    interval = min(max(interval, 100), 1000)
    lines = ["priority-flow-control watch-dog-interval on"] if qos.watchdog.enabled is not True else []
    lines += [f"priority-flow-control watch-dog interval {interval}",
              f"priority-flow-control watch-dog shutdown-multiplier {max(round(want.detection_ms / interval), 1)}",
              f"priority-flow-control fixed-restore-multiplier {max(round(want.restoration_ms / interval), 1)}"]
    return lines


def _nq_lines(qos: Qos, target: NodeState) -> tuple[list[str], bool]:
    """(lines, whether the policy must be attached under system qos)."""
    p = _shared(target)
    if p is None:
        return [], False
    name = qos.system.get("network-qos")
    copy = is_system_default(name)
    classes = template_nq() if copy else active_nq(qos)
    no_drop = sorted({c for port in target.ports.values() for c in port.no_drop_priorities or []})
    pause: dict[int, list[int]] = {}
    for c in no_drop:
        pause.setdefault(p.tc_of(c), []).append(c)
    mtu = max((port.mtu or DEFAULT_MTU for port in target.ports.values()), default=DEFAULT_MTU)
    body: list[str] = []
    for g in GROUPS:
        cls_name = nq_class(g)
        have = classes.get(cls_name)
        if have is None and g not in pause:
            continue
        lines: list[str] = []
        have_cos = have.pause_cos if have else []
        want_cos = sorted(pause.get(g, []))
        if want_cos != have_cos:
            lines.append(f"pause pfc-cos {_ranges(want_cos)}" if want_cos else f"no pause pfc-cos {_ranges(have_cos)}")
        have_mtu = have.mtu if have else None
        want_mtu = mtu if want_cos else have_mtu
        if want_mtu != have_mtu and want_mtu:
            lines.append(f"mtu {want_mtu}")
        if copy:
            lines = [f"mtu {want_mtu or DEFAULT_MTU}"] + [ln for ln in lines if not ln.startswith(("mtu", "no "))]
        if lines:
            body += [f"  class type network-qos {cls_name}"] + [f"    {ln}" for ln in lines]
    if not body or (copy and not no_drop and mtu == DEFAULT_MTU):
        return [], False
    return [f"policy-map type network-qos {NQ_POLICY if copy else name}"] + body, copy


def _queue_body(have: QueuingClass | None, p: PortLossless, g: int) -> list[str]:
    have = have or QueuingClass()
    ets = p.ets
    lines: list[str] = []
    if ets is not None:
        strict = g in ets.strict
        if strict and not have.priority:
            if have.remaining is not None:
                lines.append(f"no bandwidth remaining percent {have.remaining}")
            lines.append("priority level 1")
        elif not strict:
            if have.priority:
                lines.append("no priority level 1")
            share = ets.bandwidth.get(g, 0)
            if (have.remaining or 0) != share or have.priority:
                lines.append(f"bandwidth remaining percent {share}")
    want_ecn = _ecn_line(p, g)
    if want_ecn != have.ecn_line:
        if have.ecn_line and not want_ecn:
            lines.append(f"no {have.ecn_line}")
        elif want_ecn:
            lines.append(want_ecn)
    return lines


def _queuing_lines(qos: Qos, target: NodeState) -> tuple[list[str], bool]:
    p = _shared(target)
    if p is None:
        return [], False
    name = qos.system.get("queuing output")
    copy = is_system_default(name)
    classes = template_out() if copy else active_out(qos)
    edits: list[tuple[int, str, list[str]]] = []
    for g in GROUPS:
        cls_name = out_class(g)
        have = classes.get(cls_name)
        body = _queue_body(None if copy else have, p, g) if not copy else _queue_body(QueuingClass(), p, g)
        if copy and not any(ln.startswith(("bandwidth", "priority")) for ln in body):
            body = [f"bandwidth remaining percent {(have or QueuingClass()).remaining or 0}"] + body
        if not copy and not body:
            continue
        old = 0 if (have is None or have.priority) else (have.remaining or 0)
        new = (p.ets.bandwidth.get(g, 0) if p.ets and g not in p.ets.strict else 0) if p.ets else old
        edits.append((new - old, cls_name, body))
    if not edits or copy and all(body == ["bandwidth remaining percent " + str((classes[c].remaining or 0))]
                    for _, c, body in edits):
        return [], False
    # Lower shares first: the remaining shares of a policy never pass 100 % on the way.
    edits.sort(key=lambda e: (e[0], e[1]))
    lines = [f"policy-map type queuing {OUT_POLICY if copy else name}"]
    for _, cls_name, body in edits:
        lines += [f"  class type queuing {cls_name}"] + [f"    {ln}" for ln in body]
    return lines, copy


def _interface_lines(tree: Block, qos: Qos, current: NodeState, target: NodeState, policy: str | None) -> list[str]:
    out: list[str] = []
    for name, want in target.ports.items():
        iface = qos.interfaces.get(name)
        body: list[str] = []
        have_mtu = (iface.mtu if iface else None) or DEFAULT_MTU
        if (want.mtu or DEFAULT_MTU) != have_mtu:
            body.append(f"mtu {want.mtu}" if want.mtu and want.mtu != DEFAULT_MTU else "no mtu")
        mode = iface.pfc_mode if iface else None
        if want.no_drop_priorities and mode != "on":
            body.append("priority-flow-control mode on")
        elif not want.no_drop_priorities and mode == "on":
            body.append("no priority-flow-control mode on")
        want_wd = bool(want.pfc_watchdog and want.pfc_watchdog.enabled)
        if iface is not None and iface.watchdog is not None and iface.watchdog != want_wd:
            body.append(f"no priority-flow-control watch-dog-interval {'on' if iface.watchdog else 'off'}")
        attached = iface.qos_input if iface else None
        if policy and attached != policy and qos.system.get("qos input") != policy:
            body.append(f"service-policy type qos input {policy}")
        elif policy is None and want.trust == "none" and attached:
            body.append(f"no service-policy type qos input {attached}")
        have_pause = bool(current.ports.get(name) and current.ports[name].link_pause)
        if want.link_pause is not None and bool(want.link_pause) != have_pause:
            body += ["flowcontrol receive on", "flowcontrol send on"] if want.link_pause else \
                    ["flowcontrol receive off", "flowcontrol send off"]
        if body:
            out += [f"interface {name}"] + [f"  {ln}" for ln in body]
    return out


def plan_lines(raw: str, current: NodeState, target: NodeState) -> list[str]:
    """The NX-OS configuration lines (indented as `show running-config` shows them) taking the
    running config `raw` (parsed as `current`) to `target`."""
    tree = load(raw)
    qos = read(tree)
    lines, policy = _classification_lines(tree, qos, target)
    if policy is None and any(p.trust not in (None, "none") for p in current.ports.values()):
        policy = None
    nq, attach_nq = _nq_lines(qos, target)
    queuing, attach_out = _queuing_lines(qos, target)
    lines += nq + queuing
    system = ([f"  service-policy type network-qos {NQ_POLICY}"] if attach_nq else []) + \
             ([f"  service-policy type queuing output {OUT_POLICY}"] if attach_out else [])
    if system:
        lines += ["system qos"] + system
    lines += _watchdog_lines(qos, target)
    lines += _interface_lines(tree, qos, current, target, policy)
    return lines


def restore_lines(raw: str, snapshot: str) -> list[str]:
    """After the semantic change has brought the model back: the lines that take the managed
    scope's text back to `snapshot` too, so a restore is exact. nr-apply's own policies and
    class-maps the snapshot did not have are detached and removed, the snapshot's `system qos`
    attachments and global watchdog lines come back as they were."""
    have = {b.text: b for b in load(raw).children}
    want = {b.text: b for b in load(snapshot).children}
    system_have = [c.text for c in have["system qos"].children] if "system qos" in have else []
    system_want = [c.text for c in want["system qos"].children] if "system qos" in want else []
    system: list[str] = []
    for line in system_have:
        if line not in system_want:
            kind = line.rsplit(" ", 1)[0]  # `service-policy type queuing output`
            again = [w for w in system_want if w.rsplit(" ", 1)[0] == kind]
            system += [f"  {again[0]}" if again else f"  no {line}"]
    system += [f"  {line}" for line in system_want if line not in system_have
               and not any(line.rsplit(" ", 1)[0] == h.rsplit(" ", 1)[0] for h in system_have)]
    out = ["system qos", *system] if system else []
    # Policies before the class-maps they use; the qos policy is off the ports by now.
    extra = [text for text in have if text.startswith(SCOPE.blocks) and text != "system qos" and text not in want]
    out += [_removal(text) for text in sorted(extra, key=lambda t: t.startswith("class-map"))]
    out += [f"no {text}" for text in have if text.startswith(SCOPE.global_lines) and text not in want]
    out += [text for text in want if text.startswith(SCOPE.global_lines) and text not in have]
    return out


def _removal(header: str) -> str:
    """`no policy-map type queuing P`; a class-map goes by its name alone
    (`no class-map type qos NAME`, whatever its match-any/match-all)."""
    if header.startswith("class-map type qos "):
        return f"no class-map type qos {header.split()[-1]}"
    return f"no {header}"


def scoped(text: str, ports: list[str]) -> str:
    """The managed scope of a whole config, as config text (what a rollback restores)."""
    tree = load(text)
    out: list[str] = []
    for block in tree.children:
        if block.text.startswith(SCOPE.blocks) or block.text.startswith(SCOPE.global_lines):
            out += block.lines()
        elif block.text.startswith("interface ") and block.text.split()[1] in ports:
            out.append(block.text)
            out += [f"  {c.text}" for c in block.children if c.text.startswith(SCOPE.interface_lines)]
    return "\n".join(out) + "\n"
