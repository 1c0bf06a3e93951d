//! Rank 0: starts the tracker, makes the content and torrents, broadcasts the [`Plan`],
//! follows the client ranks' progress until every downloader is done or the deadline
//! passes, tells them to stop, gathers their outcomes and builds the [`SwarmReport`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bitswarm_cluster::{ClusterError, Comm, Source};
use bitswarm_tracker::{BlockingTracker, TrackerServer};

use super::bound::{lower_bound, BoundClient, BoundFile, BoundRole};
use super::client::client_files;
use super::content::prepare_files;
use super::error::RunnerError;
use super::placement::place;
use super::plan::{decode, encode, ClientOutcome, Plan, RankProgress, TAG_PROGRESS, TAG_STOP};
use super::progress::{ClientStatus, SwarmProgress};
use super::rank::metainfos;
use super::report::{FileReport, SwarmReport, Totals, REPORT_VERSION};
use super::run::RunOptions;
use super::scenario::Role;

/// How long rank 0 waits for a progress message before checking the clock again.
const POLL: Duration = Duration::from_millis(100);
/// Extra time after the deadline for the ranks' last messages and outcomes.
const GATHER_GRACE: Duration = Duration::from_secs(120);

/// Runs rank 0 and returns the report.
pub fn run_coordinator<C: Comm + ?Sized>(
    comm: &C,
    opts: &RunOptions<'_>,
) -> Result<SwarmReport, RunnerError> {
    let wall = Instant::now();
    let scenario = opts.scenario.clone();
    // The work folder: kept where the user said, else removed when `_temp` drops.
    let (_temp, work_dir) = match &opts.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| RunnerError::io(dir, e))?;
            (None, dir.clone())
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("bitswarm-swarm-")
                .tempdir()
                .map_err(|e| RunnerError::io(std::env::temp_dir(), e))?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let tracker = start_tracker(scenario.announce_interval_secs)?;
    let announce = match tracker.http_addr() {
        Some(a) => format!("http://{a}/announce"),
        None => return Err(RunnerError::Tracker("no HTTP address".into())),
    };
    let files = prepare_files(
        &scenario.resolved_files(),
        scenario.seed,
        scenario.piece_length,
        &announce,
        &work_dir.join("content"),
    )?;
    let clients = scenario.resolved_clients();
    let placement = place(&clients, comm.size());
    let plan = Plan {
        scenario: scenario.clone(),
        files,
        clients,
        placement,
        work_dir: work_dir.clone(),
    };
    comm.broadcast(0, encode(&plan), None)?;
    comm.barrier(None)?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(scenario.deadline_secs);

    // Follow progress.
    let mut latest: HashMap<usize, super::plan::ClientProgress> = HashMap::new();
    loop {
        match comm.recv_timeout(Source::Any, TAG_PROGRESS, POLL) {
            Ok(env) => {
                let p: RankProgress = decode(&env.payload)?;
                for c in p.clients {
                    latest.insert(c.index, c);
                }
            }
            Err(ClusterError::Timeout { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let snapshot = snapshot(&plan, &latest, t0, scenario.deadline_secs as f64);
        opts.progress.update(&snapshot);
        let all_done = plan
            .clients
            .iter()
            .all(|c| latest.get(&c.index).is_some_and(|p| p.complete || p.failed));
        if all_done || Instant::now() >= deadline {
            opts.progress.finish(&snapshot);
            break;
        }
    }
    for rank in 1..comm.size() {
        comm.send(rank, TAG_STOP, Vec::new())?;
    }
    let gathered = comm
        .gather(0, Vec::new(), Some(deadline + GATHER_GRACE))?
        .unwrap_or_default();
    let mut outcomes: Vec<ClientOutcome> = Vec::new();
    for bytes in gathered.iter().skip(1) {
        outcomes.extend(decode::<Vec<ClientOutcome>>(bytes)?);
    }
    tracker.shutdown();
    let report = build_report(&plan, outcomes, comm.size(), opts.backend, wall)?;
    Ok(report)
}

fn start_tracker(interval: u64) -> Result<BlockingTracker, RunnerError> {
    let config = bitswarm_tracker::Config {
        http_addr: "127.0.0.1:0"
            .parse()
            .map_err(|_| RunnerError::Tracker("address".into()))?,
        udp_enabled: false,
        interval_secs: interval,
        min_interval_secs: 1.min(interval),
        ..bitswarm_tracker::Config::default()
    };
    TrackerServer::start_blocking(config).map_err(|e| RunnerError::Tracker(e.to_string()))
}

fn snapshot(
    plan: &Plan,
    latest: &HashMap<usize, super::plan::ClientProgress>,
    t0: Instant,
    deadline: f64,
) -> SwarmProgress {
    SwarmProgress {
        elapsed: t0.elapsed().as_secs_f64(),
        deadline,
        clients: plan
            .clients
            .iter()
            .map(|c| {
                let p = latest.get(&c.index);
                ClientStatus {
                    name: c.name.clone(),
                    needed: p.map_or(0, |p| p.needed),
                    have: p.map_or(0, |p| p.have),
                    download_rate: p.map_or(0, |p| p.download_rate),
                    upload_rate: p.map_or(0, |p| p.upload_rate),
                    complete: p.is_some_and(|p| p.complete),
                    failed: p.is_some_and(|p| p.failed),
                    seen: p.is_some(),
                }
            })
            .collect(),
    }
}

/// Merges the outcomes into the report: bound, files, clients in scenario order,
/// `suspected_by`, totals and failures.
fn build_report(
    plan: &Plan,
    outcomes: Vec<ClientOutcome>,
    ranks: usize,
    backend: &str,
    wall: Instant,
) -> Result<SwarmReport, RunnerError> {
    let metas = metainfos(plan)?;
    // The bound from the caps and what each client holds at start. A corrupt client's
    // uploads are worthless and its held pieces do not count as held.
    let mut bound_clients = Vec::with_capacity(plan.clients.len());
    let mut held_union: Vec<Vec<bool>> = metas
        .iter()
        .map(|m| vec![false; m.geometry().piece_count() as usize])
        .collect();
    for c in &plan.clients {
        let mut roles = vec![BoundRole::Absent; metas.len()];
        for f in client_files(plan.scenario.seed, c, &metas) {
            roles[f.file] = match f.role {
                Role::Seed if c.corrupt => BoundRole::Absent,
                Role::Seed => BoundRole::Seed,
                _ => BoundRole::Download { need: f.need },
            };
            if f.role == Role::Peer && !c.corrupt {
                for (u, h) in held_union[f.file].iter_mut().zip(&f.held) {
                    *u |= *h;
                }
            }
        }
        bound_clients.push(BoundClient {
            upload: if c.corrupt { Some(0) } else { c.upload_limit },
            download: c.download_limit,
            roles,
        });
    }
    let bound_files: Vec<BoundFile> = metas
        .iter()
        .zip(&held_union)
        .map(|(m, held)| {
            let not_held: Vec<bool> = held.iter().map(|h| !h).collect();
            BoundFile {
                size: m.info().content_length(),
                seed_only: super::content::held_bytes(m, &not_held),
            }
        })
        .collect();
    let bound = lower_bound(&bound_files, &bound_clients);

    let by_listen: HashMap<_, usize> = outcomes
        .iter()
        .filter_map(|o| o.listen.map(|a| (a, o.index)))
        .collect();
    let mut suspected: HashMap<usize, u64> = HashMap::new();
    for o in &outcomes {
        for addr in &o.faulted {
            if let Some(&who) = by_listen.get(addr) {
                *suspected.entry(who).or_default() += 1;
            }
        }
    }
    let mut by_index: HashMap<usize, ClientOutcome> =
        outcomes.into_iter().map(|o| (o.index, o)).collect();
    let mut clients = Vec::with_capacity(plan.clients.len());
    for c in &plan.clients {
        match by_index.remove(&c.index) {
            Some(mut o) => {
                o.report.suspected_by = suspected.get(&c.index).copied().unwrap_or(0);
                clients.push(o.report);
            }
            None => {
                return Err(RunnerError::Message(format!(
                    "no outcome for client {}",
                    c.name
                )))
            }
        }
    }
    let files = plan
        .files
        .iter()
        .zip(&metas)
        .map(|(f, m)| FileReport {
            name: f.name.clone(),
            size: f.size,
            piece_length: m.geometry().piece_length(),
            pieces: m.geometry().piece_count(),
            info_hash: m.info_hash().to_hex(),
            sha1: f.sha1.clone(),
        })
        .collect();
    let mut report = SwarmReport {
        version: REPORT_VERSION,
        success: false,
        failures: Vec::new(),
        backend: backend.to_owned(),
        ranks,
        total_seconds: 0.0,
        wall_seconds: 0.0,
        lower_bound_seconds: bound.seconds,
        ratio_to_bound: None,
        bound,
        scenario: plan.scenario.clone(),
        files,
        totals: Totals::default(),
        clients,
    };
    report.finish();
    report.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(report)
}
