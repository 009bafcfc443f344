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
        return read_addresses(&addresses).with_context(|| {
            format!(
                "stand-ins answer on {control_url}, but their addresses are not in {}; \
                 stop them or pass the --standins-dir they were started with",
                addresses.display()
            )
        });
    }

    std::fs::create_dir_all(&place.dir).with_context(|| format!("cannot create {}", place.dir.display()))?;
    let _ = std::fs::remove_file(&addresses);
    let stdout = File::create(&addresses)?;
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
            bail!(
                "offload-standins exited with {status}; see {}",
                place.dir.join("standins.log").display()
            );
        }
        if answers(&control_url).await {
            if let Ok(targets) = read_addresses(&addresses) {
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
