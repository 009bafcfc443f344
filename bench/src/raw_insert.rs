//! The insert limit: the backlog's prepared insert executed directly with
//! the scylla driver, with the worker's concurrency, consistency and write
//! timestamps, into a table of the same shape.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::frame::types::Consistency;
use scylla::statement::prepared::PreparedStatement;

use crate::backlog::{insert_cql, Backlog};
use crate::process_stats;
use crate::rate::Rate;

/// Client-side request timeout, as in the worker's default `cassandra.request_timeout_secs`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(12);

/// Target table, row count, concurrency and time limit of the raw inserts.
#[derive(Debug, Clone)]
pub struct InsertPlan {
    /// Cassandra contact point, `host:port`.
    pub contact_point: String,
    /// Keyspace of the table.
    pub keyspace: String,
    /// The table, of the backlog's shape.
    pub table: String,
    /// Rows to insert: those of events `0..sample` of the backlog.
    pub sample: u64,
    /// Inserts in flight at once.
    pub concurrency: usize,
    /// Time allowed for all of them.
    pub timeout: Duration,
}

/// Results of the raw inserts.
#[derive(Debug, Clone)]
pub struct InsertRun {
    /// Inserts that succeeded, over the time from the first request to the last response.
    pub rate: Rate,
    /// Inserts that failed. They are not retried.
    pub failed: u64,
    /// The first failure's message.
    pub first_error: Option<String>,
    /// CPU time the harness process used for the inserts: the driver's
    /// share of the work, to compare with the worker's CPU time per event.
    pub cpu_time: Duration,
}

/// Inserts the rows of the first `plan.sample` events of `backlog`.
pub async fn measure(backlog: &Backlog, plan: &InsertPlan) -> anyhow::Result<InsertRun> {
    let session = Arc::new(connect(&plan.contact_point).await?);
    let cql = insert_cql(&plan.keyspace, &plan.table);
    let mut prepared = session
        .prepare(cql.as_str())
        .await
        .with_context(|| format!("preparing `{cql}` failed"))?;
    // The worker's benchmark configuration gives the statement consistency
    // ONE and marks it idempotent.
    prepared.set_consistency(Consistency::One);
    prepared.set_is_idempotent(true);
    let prepared = Arc::new(prepared);

    let next = Arc::new(AtomicU64::new(0));
    let succeeded = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(OnceLock::new());
    let cpu_before = process_stats::cpu_time(std::process::id())?;
    let started = Instant::now();
    let deadline = started + plan.timeout;

    let mut tasks = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency.max(1) {
        let inserter = Inserter {
            session: Arc::clone(&session),
            prepared: Arc::clone(&prepared),
            backlog: *backlog,
            next: Arc::clone(&next),
            succeeded: Arc::clone(&succeeded),
            failed: Arc::clone(&failed),
            first_error: Arc::clone(&first_error),
        };
        tasks.push(tokio::spawn(inserter.run(plan.sample, deadline)));
    }
    for task in tasks {
        task.await.context("an insert task panicked")?;
    }
    let elapsed = started.elapsed();
    let cpu_time = process_stats::cpu_time(std::process::id())?.saturating_sub(cpu_before);

    let succeeded = succeeded.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    if succeeded + failed < plan.sample {
        bail!(
            "the raw inserts finished {} of {} rows within {:?}; raise --insert-timeout-secs",
            succeeded + failed,
            plan.sample,
            plan.timeout
        );
    }
    Ok(InsertRun {
        rate: Rate::new(succeeded, elapsed),
        failed,
        first_error: first_error.get().cloned(),
        cpu_time,
    })
}

/// Connects the way the worker does: default load balancing, a connect
/// timeout and the worker's default request timeout.
async fn connect(contact_point: &str) -> anyhow::Result<Session> {
    let profile = ExecutionProfile::builder()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .build();
    SessionBuilder::new()
        .known_node(contact_point)
        .connection_timeout(Duration::from_secs(5))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .with_context(|| {
            format!("connecting to Cassandra at {contact_point} failed; is the stack up (deploy/local/stack up)?")
        })
}

/// One of the concurrent insert loops; they share the next event index.
struct Inserter {
    session: Arc<Session>,
    prepared: Arc<PreparedStatement>,
    backlog: Backlog,
    next: Arc<AtomicU64>,
    succeeded: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    first_error: Arc<OnceLock<String>>,
}

impl Inserter {
    async fn run(self, sample: u64, deadline: Instant) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= sample || Instant::now() >= deadline {
                return;
            }
            let row = self.backlog.row(index);

            // The worker clones the prepared statement per write to set the
            // event's write timestamp; so does this loop.
            let mut statement = PreparedStatement::clone(&self.prepared);
            statement.set_timestamp(Some(self.backlog.timestamp_us(index)));
            let result = self
                .session
                .execute_unpaged(&statement, (row.entity, row.seq, row.body))
                .await;

            match result {
                Ok(_) => self.succeeded.fetch_add(1, Ordering::Relaxed),
                Err(error) => {
                    self.first_error.get_or_init(|| error.to_string());
                    self.failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }
}
