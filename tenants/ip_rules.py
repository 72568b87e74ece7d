"""Customer IP allow-lists: single addresses and CIDR ranges, IPv4 and IPv6."""

import ipaddress


def parse_ip_rule(rule: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """One allow-list entry as a network; raises ValueError for anything else."""
    return ipaddress.ip_network(str(rule).strip(), strict=False)


def ip_allowed(allowed_ips, ip: str) -> bool:
    """An empty or missing list allows everyone; otherwise the address must match a rule."""
    if not allowed_ips:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    for rule in allowed_ips:
        try:
            if address in parse_ip_rule(rule):
                return True
        except ValueError:
            continue
    return False
