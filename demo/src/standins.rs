//! Finds the stand-in APNs and FCM servers on their fixed local ports, or
//! starts the `offload-standins` binary there and leaves it running for
//! later runs, like the local stack.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::worker::PushTargets;

/// Name of the file the stand-ins' start-up lines go to.
const ADDRESSES_FILE: &str = "standins.out";

/// Name of that file while the stand-ins start.
const STARTING_FILE: &str = "standins.out.starting";

/// Ports and folder of the stand-ins.
#[derive(Debug, Clone)]
pub struct StandInsPlace {
    /// The `offload-standins` binary.
    pub binary: PathBuf,
    /// Folder for their CA, keys, service account file and output.
    pub dir: PathBuf,
    /// APNs port.
    pub apns_port: u16,
    /// FCM port.
    pub fcm_port: u16,
    /// Control API port.
    pub control_port: u16,
}

/// Returns the running stand-ins' addresses and credentials, starting them first
/// when their control port does not respond.
pub async fn ensure_running(place: &StandInsPlace) -> anyhow::Result<PushTargets> {
    let control_url = format!("http://127.0.0.1:{}", place.control_port);
    let addresses = place.dir.join(ADDRESSES_FILE);
    if answers(&control_url).await {
        let targets = read_addresses(&addresses).with_context(|| {
            format!(
                "stand-ins answer on {control_url}, but their addresses are not in {}; \
                 stop them or pass the --standins-dir they were started with",
                addresses.display()
            )
        })?;
        check_ports(&targets, place)?;
        return Ok(targets);
    }

    // The start-up lines go to a separate file until the start succeeds, so
    // a failed start never clobbers the addresses of stand-ins already running.
    std::fs::create_dir_all(&place.dir).with_context(|| format!("cannot create {}", place.dir.display()))?;
    let starting = place.dir.join(STARTING_FILE);
    let stdout = File::create(&starting)?;
    let stderr = File::create(place.dir.join("standins.log"))?;
    let mut command = Command::new(&place.binary);
    command
        .arg("--dir")
        .arg(&place.dir)
        .args(["--apns-port", &place.apns_port.to_string()])
        .args(["--fcm-port", &place.fcm_port.to_string()])
        .args(["--control-port", &place.control_port.to_string()])
        .env("OFFLOAD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // Its own process group, so that Ctrl-C in the demo's terminal leaves it running.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().with_context(|| {
        format!(
            "starting {} failed; build it with `cargo build -p offload-standins`",
            place.binary.display()
        )
    })?;
    println!(
        "started the push stand-ins (pid {}, control API {control_url}, files in {})",
        child.id(),
        place.dir.display()
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = place.dir.join("standins.log");
            let cause = first_cause(&log).map(|line| format!(": {line}")).unwrap_or_default();
            bail!(
                "offload-standins exited with {status}{cause}; free the ports or choose others with \
                 --apns-port, --fcm-port and --control-port (log: {})",
                log.display()
            );
        }
        if answers(&control_url).await {
            if let Ok(targets) = read_addresses(&starting) {
                std::fs::rename(&starting, &addresses)?;
                return Ok(targets);
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "offload-standins did not start within 60 s; see {}",
                place.dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Returns the first cause in the error report `offload-standins` wrote
/// to its log before exiting.
fn first_cause(log_path: &Path) -> Option<String> {
    let log = std::fs::read_to_string(log_path).ok()?;
    log.lines()
        .find_map(|line| line.trim().strip_prefix("0: "))
        .or_else(|| log.lines().find_map(|line| line.strip_prefix("Error: ")))
        .map(str::to_string)
}

/// Fails when running stand-ins serve other ports than the ones requested.
fn check_ports(targets: &PushTargets, place: &StandInsPlace) -> anyhow::Result<()> {
    for (url, port, option) in [
        (&targets.apns_url, place.apns_port, "--apns-port"),
        (&targets.fcm_url, place.fcm_port, "--fcm-port"),
    ] {
        if !url.ends_with(&format!(":{port}")) {
            bail!(
                "the running stand-ins serve {url}, not port {port} of {option}; \
                 stop them to restart them on other ports, or leave {option} out"
            );
        }
    }
    Ok(())
}

async fn answers(control_url: &str) -> bool {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build();
    match client {
        Ok(client) => client
            .get(format!("{control_url}/stats"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success()),
        Err(_) => false,
    }
}

/// Parses the lines `offload-standins` prints at start-up.
fn read_addresses(path: &Path) -> anyhow::Result<PushTargets> {
    let text = std::fs::read_to_string(path)?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name).map(str::trim))
            .map(str::to_string)
            .with_context(|| format!("no `{name}` line in {}", path.display()))
    };
    let apns_key_line = field("apns-key ")?;
    let (key_path, ids) = apns_key_line
        .split_once(" (key id ")
        .with_context(|| format!("unexpected apns-key line {apns_key_line:?}"))?;
    let (key_id, team_id) = ids
        .trim_end_matches(')')
        .split_once(", team id ")
        .with_context(|| format!("unexpected apns-key line {apns_key_line:?}"))?;
    Ok(PushTargets {
        apns_url: field("apns ")?,
        fcm_url: field("fcm ")?,
        control_url: field("control ")?,
        ca_certificate: absolute(field("ca ")?),
        apns_key: absolute(key_path.to_string()),
        apns_key_id: key_id.to_string(),
        apns_team_id: team_id.to_string(),
        fcm_service_account: absolute(field("fcm-key ")?),
    })
}

fn absolute(path: String) -> PathBuf {
    std::path::absolute(&path).unwrap_or_else(|_| PathBuf::from(path))
}
