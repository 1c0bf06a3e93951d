#!/usr/bin/python3
"""A libtorrent DHT node on loopback, for bitswarm-dht's interop test.

Usage: lt_dht.py --port P --bootstrap HOST:PORT [--get-peers HEX] [--announce HEX]
                 [--timeout SECS]
Prints 'nodes N' while bootstrapping, 'peer IP:PORT' for each peer found by get_peers,
'announced' once the torrent to announce was added (libtorrent then announces it
with its listen port P), then 'done'.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import libtorrent as lt

VERBOSE = bool(os.environ.get("LT_DHT_VERBOSE"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--get-peers")
    ap.add_argument("--announce")
    ap.add_argument("--want-peer")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    settings = {
        "listen_interfaces": "127.0.0.1:%d" % a.port,
        "enable_dht": True,
        "dht_bootstrap_nodes": a.bootstrap,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_announce_interval": 2,
        # Defaults that keep libtorrent's DHT away from loopback nodes:
        "dht_ignore_dark_internet": False,  # drops private/loopback addresses
        "dht_restrict_routing_ips": False,  # one node per IP (all of ours are 127.0.0.1)
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,  # BEP 42
        "dht_prefer_verified_node_ids": False,
        "alert_mask": lt.alert.category_t.dht_notification
        | (lt.alert.category_t.dht_log_notification if VERBOSE else 0)
        # get_peers replies are "dht operation" alerts in libtorrent 2.0.
        | lt.alert.category_t.dht_operation_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.error_notification,
    }
    ses = lt.session(settings)
    deadline = time.time() + a.timeout

    def pump(seconds):
        end = min(deadline, time.time() + seconds)
        found = []
        while time.time() < end:
            ses.wait_for_alert(100)
            for al in ses.pop_alerts():
                if VERBOSE:
                    print("alert %s: %s" % (type(al).__name__, al.message()), flush=True)
                if isinstance(al, lt.dht_get_peers_reply_alert):
                    for ip, port in al.peers():
                        found.append("%s:%d" % (ip, port))
        return found

    # Wait until the DHT knows a few nodes.
    while time.time() < deadline:
        n = ses.status().dht_nodes
        print("nodes %d" % n, flush=True)
        if n >= 2:
            break
        pump(0.5)

    if a.announce:
        # session.dht_announce() cannot be called from Python in 2.0.8 (its flags type
        # is not exported), so add the torrent as a magnet link: libtorrent announces
        # it to the DHT with its listen port.
        params = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + a.announce)
        params.save_path = tempfile.mkdtemp(prefix="lt-dht-")
        ses.add_torrent(params)
        pump(1)
        print("announced", flush=True)

    if a.get_peers:
        seen = set()
        h = lt.sha1_hash(bytes.fromhex(a.get_peers))
        while time.time() < deadline:
            ses.dht_get_peers(h)
            for p in pump(2):
                if p not in seen:
                    seen.add(p)
                    print("peer %s" % p, flush=True)
            if a.want_peer and a.want_peer in seen:
                break
    elif a.announce:
        # Stay reachable until the other side has looked.
        while time.time() < deadline:
            line = sys.stdin.readline()
            if not line or line.strip() == "quit":
                break
    print("done", flush=True)


if __name__ == "__main__":
    main()
