# A stand-in for the deployment's systemd bundle, written from its
# contract (the reactor's metadata shape): every entry NAME of
# `systemd/units`, `{section: {key: value}}`, becomes the file
# /etc/systemd/system/NAME. Sections in the order Unit, Timer, Service,
# Swap, Install, then the others; keys sorted inside a section; a list
# renders one `Key=item` line per item, in order; a set renders sorted; a
# dict renders `Key=k=v` lines; None renders nothing; anything else
# `Key=str(value)`, so "" is the reset line `Key=`.

ORDER = ("Unit", "Timer", "Service", "Swap", "Install")


def section_order(name):
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def render_key(key, value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [f"{key}={item}" for item in value]
    if isinstance(value, set):
        return [f"{key}={item}" for item in sorted(value)]
    if isinstance(value, dict):
        return [f"{key}={k}={v}" for k, v in value.items()]
    return [f"{key}={value}"]


def render_unit(unit):
    blocks = []
    for name in sorted(unit, key=section_order):
        section = unit[name]
        lines = [f"[{name}]"]
        for key in sorted(section):
            lines += render_key(key, section[key])
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


files = {
    f"/etc/systemd/system/{name}": {
        "content": render_unit(unit),
        "mode": "0644",
    }
    for name, unit in node.metadata.get("systemd/units", {}).items()
}
