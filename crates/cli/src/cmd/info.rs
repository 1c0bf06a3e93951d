//! `bitswarm info`: what a `.torrent` or a magnet link describes, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use bitswarm_proto::{Magnet, Metainfo};
use serde_json::{json, Value};

/// Arguments of `bitswarm info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// A .torrent file or a magnet link (magnet:?xt=urn:btih:...).
    #[arg(value_name = "TORRENT|MAGNET")]
    pub input: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Magnet links: fetch the metadata from peers (BEP 9) and describe the torrent.
    #[arg(long)]
    pub fetch: bool,
    /// With --fetch: also ask this peer (repeatable).
    #[arg(long = "peer", value_name = "IP:PORT")]
    pub peers: Vec<std::net::SocketAddr>,
    /// With --fetch: seconds to wait for the metadata.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub dht: super::dht_args::DhtArgs,
    #[command(flatten)]
    pub lsd: super::lsd_args::LsdArgs,
}

/// Run `bitswarm info`.
pub fn run(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let out = if args
        .input
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("magnet:"))
    {
        let magnet = Magnet::parse(&args.input).context("invalid magnet link")?;
        if args.fetch {
            let meta = fetch(&magnet, &args)?;
            match args.json {
                true => torrent_json(&meta).to_string(),
                false => torrent_text(&meta),
            }
        } else {
            match args.json {
                true => magnet_json(&magnet).to_string(),
                false => magnet_text(&magnet),
            }
        }
    } else {
        let meta = crate::torrent_file::load(Path::new(&args.input))?;
        match args.json {
            true => torrent_json(&meta).to_string(),
            false => torrent_text(&meta),
        }
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Fetches a magnet link's metadata with a session on a free port.
fn fetch(magnet: &Magnet, args: &InfoArgs) -> anyhow::Result<Metainfo> {
    super::download::init_logging();
    let config = bitswarm_net::SessionConfig {
        listen: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        dht: args.dht.settings(super::dht_args::state_cache()),
        lsd: args.lsd.settings(),
        ..bitswarm_net::SessionConfig::default()
    };
    let timeout = std::time::Duration::from_secs(args.timeout.max(1));
    super::download::run_blocking(async {
        let session = bitswarm_net::Session::new(config).await?;
        let fetched = session.fetch_metadata(magnet, &args.peers, timeout).await;
        session.shutdown().await;
        let fetched = fetched.map_err(|e| crate::exit::Failure {
            code: 1,
            message: e.to_string(),
        })?;
        Ok(std::sync::Arc::unwrap_or_clone(fetched.metainfo))
    })?
}

/// Text from a torrent may hold anything: show control characters escaped.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// `1.5 MiB (1572864 bytes)`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    match u {
        0 => format!("{n} B"),
        _ => format!("{v:.1} {} ({n} bytes)", UNITS[u]),
    }
}

fn torrent_text(m: &Metainfo) -> String {
    let info = m.info();
    let g = m.geometry();
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<14}{v}\n"));
    line("name:", clean(info.name()));
    line("info-hash:", m.info_hash().to_string());
    line("total size:", human_size(info.content_length()));
    line("piece length:", human_size(u64::from(g.piece_length())));
    line("pieces:", g.piece_count().to_string());
    line(
        "private:",
        if info.is_private() { "yes" } else { "no" }.into(),
    );
    if let Some(src) = info.source() {
        line("source:", clean(src));
    }
    if let Some(c) = m.comment() {
        line("comment:", clean(c));
    }
    if let Some(c) = m.created_by() {
        line("created by:", clean(c));
    }
    if let Some(d) = m.creation_date() {
        line("created:", format!("{d} (Unix time)"));
    }
    let tiers = m.tracker_tiers();
    if tiers.is_empty() {
        line("trackers:", "none".into());
    }
    for (i, tier) in tiers.iter().enumerate() {
        let label = if i == 0 { "trackers:" } else { "" };
        line(label, format!("tier {}: {}", i + 1, clean(&tier.join(" "))));
    }
    for (i, w) in m.url_list().iter().enumerate() {
        line(if i == 0 { "web seeds:" } else { "" }, clean(w));
    }
    line("magnet:", m.to_magnet().to_string());
    let real: Vec<_> = m.files().iter().filter(|f| !f.padding).collect();
    line("files:", real.len().to_string());
    for f in real {
        s.push_str(&format!(
            "  {:>14}  {}\n",
            f.length,
            clean(&f.path.join("/"))
        ));
    }
    s.trim_end().to_owned()
}

fn torrent_json(m: &Metainfo) -> Value {
    let info = m.info();
    let g = m.geometry();
    let files: Vec<Value> = m
        .files()
        .iter()
        .map(|f| json!({"path": f.path.join("/"), "length": f.length, "padding": f.padding}))
        .collect();
    json!({
        "kind": "torrent",
        "name": info.name(),
        "info_hash": m.info_hash().to_string(),
        "total_size": info.content_length(),
        "piece_length": g.piece_length(),
        "piece_count": g.piece_count(),
        "private": info.is_private(),
        "source": info.source(),
        "single_file": info.is_single_file(),
        "trackers": m.tracker_tiers(),
        "web_seeds": m.url_list(),
        "comment": m.comment(),
        "created_by": m.created_by(),
        "creation_date": m.creation_date(),
        "magnet": m.to_magnet().to_string(),
        "files": files,
    })
}

fn magnet_text(m: &Magnet) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<14}{v}\n"));
    line("magnet link", String::new());
    line(
        "name:",
        m.display_name
            .as_deref()
            .map(clean)
            .unwrap_or_else(|| "(not given)".into()),
    );
    line("info-hash:", m.info_hash.to_string());
    if let Some(h) = &m.btmh {
        line("v2 hash:", clean(h));
    }
    line(
        "total size:",
        "unknown until the metadata is fetched".into(),
    );
    let lists = [
        ("trackers:", &m.trackers),
        ("peers:", &m.peers),
        ("web seeds:", &m.web_seeds),
    ];
    for (label, values) in lists {
        if values.is_empty() && label == "trackers:" {
            line(label, "none".into());
        }
        for (i, v) in values.iter().enumerate() {
            line(if i == 0 { label } else { "" }, clean(v));
        }
    }
    if !m.select_only.is_empty() {
        let so: Vec<String> = m
            .select_only
            .iter()
            .map(|r| format!("{}-{}", r.start(), r.end()))
            .collect();
        line("select only:", so.join(", "));
    }
    s.trim_end().to_owned()
}

fn magnet_json(m: &Magnet) -> Value {
    let so: Vec<[u32; 2]> = m
        .select_only
        .iter()
        .map(|r| [*r.start(), *r.end()])
        .collect();
    json!({
        "kind": "magnet",
        "name": m.display_name,
        "info_hash": m.info_hash.to_string(),
        "v2_hash": m.btmh,
        "trackers": m.trackers,
        "peers": m.peers,
        "web_seeds": m.web_seeds,
        "select_only": so,
    })
}
