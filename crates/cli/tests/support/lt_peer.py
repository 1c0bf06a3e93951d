#!/usr/bin/python3
"""A libtorrent peer for interop tests, with the loopback settings of INTEROP.md.

Usage: lt_peer.py --torrent T --save DIR --port PORT [--connect HOST:PORT ...]
                  [--seed] [--timeout SECS] [--linger SECS] [--plaintext] [--upload-limit BYTES]
                  [--encryption forced|enabled|disabled] [--enc-level rc4|plaintext|both]
                  [--dht-bootstrap HOST:PORT] [--download-limit BYTES]

As a leecher (default) it exits 0 once the download is complete and checked, 1 on
timeout. As a seeder (--seed) it runs until the timeout (exit 0) or until killed.
It prints one line per event on stdout: "listening PORT", "checked", "progress PCT RATE",
"complete SECS", "timeout", "error MSG", and every second "uploaded BYTES" (payload
uploaded so far, libtorrent's total_payload_upload). With --dht-bootstrap, its DHT is on
(bootstrapped from that node, loopback nodes accepted, announcing every 2 s).
"""
import argparse
import sys
import time

import libtorrent as lt


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--torrent', help='the .torrent (or give --magnet)')
    p.add_argument('--magnet', help='a magnet link: fetch the metadata from peers first')
    p.add_argument('--save', required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--connect', action='append', default=[])
    p.add_argument('--seed', action='store_true')
    p.add_argument('--timeout', type=float, default=120.0)
    p.add_argument('--linger', type=float, default=0.0,
                   help='leecher: keep seeding this long after completion')
    p.add_argument('--plaintext', action='store_true',
                   help='no protocol encryption (MSE/PE) in either direction')
    p.add_argument('--upload-limit', type=int, default=0,
                   help='upload cap in bytes/s (0: unlimited)')
    p.add_argument('--encryption', choices=['forced', 'enabled', 'disabled'],
                   default='enabled', help='in/out_enc_policy (MSE/PE)')
    p.add_argument('--enc-level', choices=['rc4', 'plaintext', 'both'], default='both',
                   help='allowed_enc_level')
    p.add_argument('--dht-bootstrap', help='enable the DHT, bootstrapped from HOST:PORT')
    p.add_argument('--download-limit', type=int, default=0,
                   help='download cap in bytes/s (0: unlimited)')
    a = p.parse_args()

    settings = {
        'listen_interfaces': '127.0.0.1:%d' % a.port,
        'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
        'enable_natpmp': False,
        'allow_multiple_connections_per_ip': True,
        'enable_outgoing_utp': False, 'enable_incoming_utp': False,
        'upload_rate_limit': a.upload_limit, 'download_rate_limit': a.download_limit,
        'out_enc_policy': int(getattr(lt.enc_policy, a.encryption)),
        'in_enc_policy': int(getattr(lt.enc_policy, a.encryption)),
        'allowed_enc_level': int(getattr(lt.enc_level, a.enc_level)),
        'alert_mask': lt.alert.category_t.error_notification
        | lt.alert.category_t.peer_notification
        | lt.alert.category_t.status_notification,
    }
    if a.dht_bootstrap:
        settings.update({
            'enable_dht': True,
            'dht_bootstrap_nodes': a.dht_bootstrap,
            'dht_announce_interval': 2,
            # Defaults that keep libtorrent's DHT away from loopback nodes:
            'dht_ignore_dark_internet': False,
            'dht_restrict_routing_ips': False,
            'dht_restrict_search_ips': False,
            'dht_enforce_node_id': False,
            'dht_prefer_verified_node_ids': False,
        })
    if a.plaintext:
        # enc_policy: 0 forced, 1 enabled, 2 disabled
        settings['out_enc_policy'] = 2
        settings['in_enc_policy'] = 2
    s = lt.session(settings)
    if a.upload_limit or a.download_limit:
        # Loopback peers are in libtorrent's local peer class, which has no rate limit:
        # put every address in the global class so the cap applies.
        f = lt.ip_filter()
        f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
        s.set_peer_class_filter(f)
    if a.magnet:
        params = lt.parse_magnet_uri(a.magnet)
        params.save_path = a.save
    elif a.torrent:
        params = {'ti': lt.torrent_info(a.torrent), 'save_path': a.save}
    else:
        print('error: --torrent or --magnet is needed', flush=True)
        return 2
    h = s.add_torrent(params)
    had_metadata = not a.magnet
    print('listening %d' % s.listen_port(), flush=True)

    start = time.time()
    end = start + a.timeout
    connected = False
    last_report = 0.0
    done_at = None
    while time.time() < end:
        for al in s.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                print('error %s' % al.message(), flush=True)
        st = h.status()
        if not connected and st.state not in (lt.torrent_status.checking_files,
                                              lt.torrent_status.checking_resume_data):
            for c in a.connect:
                host, port = c.rsplit(':', 1)
                h.connect_peer((host, int(port)))
            connected = True
            print('checked', flush=True)
        if not had_metadata and st.has_metadata:
            had_metadata = True
            print('metadata', flush=True)
        now = time.time()
        if now - last_report >= 1.0:
            last_report = now
            print('progress %.1f %d peers=%d' % (100.0 * st.progress, st.download_payload_rate,
                                                 st.num_peers), flush=True)
            print('uploaded %d' % st.total_payload_upload, flush=True)
        if not a.seed and st.is_seeding and done_at is None:
            done_at = now
            print('complete %.3f' % (now - start), flush=True)
        if done_at is not None and now - done_at >= a.linger:
            return 0
        # Re-dial now and then (a peer may not have been listening yet).
        if connected and a.connect and int(now - start) % 5 == 0 and st.num_peers == 0:
            for c in a.connect:
                host, port = c.rsplit(':', 1)
                h.connect_peer((host, int(port)))
        time.sleep(0.05)
    if a.seed:
        return 0
    print('timeout', flush=True)
    return 1


if __name__ == '__main__':
    sys.exit(main())
