//! `offload-produce`: publishes requests read as JSON lines (see
//! `offload_producer::json`) from a file or standard input, optionally at a
//! steady rate, and reports deliveries and failures.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use offload_producer::json::parse_request;
use offload_producer::{Delivery, PublishError, Publisher, PublisherConfig};

/// Publishes offload dispatch events from JSON lines, one request per line.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// File of JSON lines; `-` reads standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// Kafka bootstrap servers.
    #[arg(long, env = "OFFLOAD_KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap_servers: String,
    /// The dispatch topic.
    #[arg(long, env = "OFFLOAD_DISPATCH_TOPIC", default_value = "offload.dispatch")]
    topic: String,
    /// Name written as the events' source service.
    #[arg(long, default_value = "offload-produce")]
    source_service: String,
    /// Requests per second; without it, lines are published as fast as the queue takes them.
    #[arg(long)]
    rate: Option<f64>,
    /// What to do after a line that cannot be parsed, fails validation or is not delivered.
    #[arg(long, value_enum, default_value_t = OnError::Stop)]
    on_error: OnError,
    /// Schema registry URL; records then use the Confluent wire format.
    #[arg(long, env = "OFFLOAD_SCHEMA_REGISTRY_URL")]
    schema_registry_url: Option<String>,
    /// Extra librdkafka producer setting, `key=value`; repeatable.
    #[arg(long = "kafka", value_parser = parse_key_value)]
    kafka: Vec<(String, String)>,
    /// Seconds to wait at the end for Kafka to acknowledge every event.
    #[arg(long, default_value_t = 60)]
    flush_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnError {
    /// Report the error and go on with the next line.
    Continue,
    /// Report the error, wait for the events already sent and exit.
    Stop,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .ok_or_else(|| format!("`{text}` is not key=value"))
}

/// Counts of one run.
#[derive(Debug, Default)]
struct Summary {
    requests: usize,
    bad_lines: usize,
    delivered: usize,
    failed: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("OFFLOAD_LOG"))
        .init();
    let args = Args::parse();

    let mut config = PublisherConfig::new(&args.bootstrap_servers, &args.topic, &args.source_service);
    config.schema_registry_url = args.schema_registry_url.clone();
    config.kafka.extend(args.kafka.iter().cloned());
    let publisher = Publisher::connect(config)
        .await
        .context("creating the producer failed")?;

    let (reader, total_lines) = open_input(&args.input)?;
    let progress = progress_bar(total_lines);
    let summary = run(&args, &publisher, reader, &progress).await?;
    progress.finish_and_clear();

    eprintln!(
        "{} requests: {} events delivered, {} failed, {} bad lines",
        summary.requests, summary.delivered, summary.failed, summary.bad_lines
    );
    if summary.failed > 0 || summary.bad_lines > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn open_input(path: &PathBuf) -> anyhow::Result<(Box<dyn BufRead>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(std::io::stdin())), None));
    }
    let count = BufReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        .lines()
        .count() as u64;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((Box::new(BufReader::new(file)), Some(count)))
}

fn progress_bar(total_lines: Option<u64>) -> ProgressBar {
    let bar = match total_lines {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}  {msg}")
                .expect("the template is valid"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} lines  {per_sec}  {msg}").expect("the template is valid"),
        ),
    };
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

async fn run(
    args: &Args,
    publisher: &Publisher,
    reader: Box<dyn BufRead>,
    progress: &ProgressBar,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut pending: FuturesUnordered<_> = FuturesUnordered::new();
    let mut ticker = match args.rate {
        Some(rate) if rate > 0.0 => {
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(ticker)
        }
        Some(rate) => bail!("--rate must be above 0, not {rate}"),
        None => None,
    };
    let started = Instant::now();

    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("reading line {number} failed"))?;
        progress.inc(1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(ticker) = &mut ticker {
            ticker.tick().await;
        }

        let outcome = match parse_request(number, &line) {
            Ok(request) => request
                .into_dispatcher(publisher)
                .dispatch()
                .await
                .map_err(|error| format!("line {number}: {error}")),
            Err(error) => Err(error.to_string()),
        };
        match outcome {
            Ok(deliveries) => {
                summary.requests += 1;
                pending.extend(deliveries.into_iter().map(|delivery| track(number, delivery)));
            }
            Err(message) => {
                summary.bad_lines += 1;
                progress.suspend(|| eprintln!("{message}"));
                if args.on_error == OnError::Stop {
                    break;
                }
            }
        }

        // Report deliveries as they complete, so memory stays bounded on long runs.
        while let Some(Some(result)) = futures::FutureExt::now_or_never(pending.next()) {
            if !record(result, &mut summary, progress) && args.on_error == OnError::Stop {
                return finish(args, publisher, pending, summary, progress).await;
            }
        }
        progress.set_message(format!("{} delivered, {} failed", summary.delivered, summary.failed));
    }

    let summary = finish(args, publisher, pending, summary, progress).await?;
    tracing::info!(elapsed = ?started.elapsed(), requests = summary.requests, "offload-produce finished");
    Ok(summary)
}

async fn track(line: usize, delivery: Delivery) -> (usize, Result<(), PublishError>) {
    (line, delivery.wait().await.map(|_| ()))
}

/// Counts one delivery outcome; returns whether it succeeded.
fn record(result: (usize, Result<(), PublishError>), summary: &mut Summary, progress: &ProgressBar) -> bool {
    match result {
        (_, Ok(())) => {
            summary.delivered += 1;
            true
        }
        (line, Err(error)) => {
            summary.failed += 1;
            progress.suspend(|| eprintln!("line {line}: {error}"));
            false
        }
    }
}

async fn finish<F>(
    args: &Args,
    publisher: &Publisher,
    mut pending: FuturesUnordered<F>,
    mut summary: Summary,
    progress: &ProgressBar,
) -> anyhow::Result<Summary>
where
    F: std::future::Future<Output = (usize, Result<(), PublishError>)>,
{
    let timeout = Duration::from_secs(args.flush_timeout_secs);
    let drained = tokio::time::timeout(timeout, async {
        while let Some(result) = pending.next().await {
            record(result, &mut summary, progress);
        }
    })
    .await;
    if drained.is_err() {
        bail!(
            "{} events were still unacknowledged after {timeout:?}",
            publisher.pending()
        );
    }
    Ok(summary)
}
