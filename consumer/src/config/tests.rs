// figment's Jail closures must return figment::Error, which is large.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;

const MINIMAL: &str = r#"
[kafka]
"bootstrap.servers" = "127.0.0.1:9092"
"group.id" = "workers"
"session.timeout.ms" = 6000

[statements.bump]
cql = "UPDATE ks.counts SET n = n + ? WHERE id = ?"
"#;

#[test]
fn minimal_file_loads_with_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", MINIMAL)?;

        let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        assert_eq!(config.topics.dispatch, "offload.dispatch");
        assert_eq!(config.kafka["session.timeout.ms"].to_string(), "6000");
        assert_eq!(config.statements["bump"].consistency, "LOCAL_QUORUM");
        assert!(!config.statements["bump"].idempotent);
        Ok(())
    });
}

#[test]
fn environment_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", MINIMAL)?;
        jail.set_env("OFFLOAD_KAFKA__BOOTSTRAP_SERVERS", "10.1.1.1:9092");
        jail.set_env("OFFLOAD_TOPICS__DISPATCH", "other.dispatch");
        jail.set_env("OFFLOAD_WORKER__COMMIT_INTERVAL_MS", "250");
        jail.set_env("OFFLOAD_STACK_DIR", "/tmp/not-a-config-key");

        let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        assert_eq!(config.kafka["bootstrap.servers"].to_string(), "10.1.1.1:9092");
        assert_eq!(config.topics.dispatch, "other.dispatch");
        assert_eq!(config.worker.commit_interval_ms, 250);
        Ok(())
    });
}

#[test]
fn unknown_key_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            &format!("{MINIMAL}\n[worker]\ncommit_intervall_ms = 5\n"),
        )?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        let message = format!(
            "{error}: {}",
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(message.contains("commit_intervall_ms"), "{message}");
        Ok(())
    });
}

#[test]
fn missing_group_id_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", "[kafka]\n\"bootstrap.servers\" = \"127.0.0.1:9092\"\n")?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        assert!(error.to_string().contains("group.id"), "{error}");
        assert!(error.to_string().contains("OFFLOAD_KAFKA__GROUP_ID"), "{error}");
        Ok(())
    });
}

#[test]
fn auto_commit_setting_is_rejected() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", &format!("{MINIMAL}\n"))?;
        jail.set_env("OFFLOAD_KAFKA__ENABLE_AUTO_COMMIT", "true");

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        assert!(error.to_string().contains("enable.auto.commit"), "{error}");
        Ok(())
    });
}

#[test]
fn invalid_consistency_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            &format!(
                "{MINIMAL}\n[statements.other]\ncql = \"DELETE FROM ks.t WHERE id = ?\"\nconsistency = \"MOSTLY\"\n"
            ),
        )?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        assert!(error.to_string().contains("statements.other.consistency"), "{error}");
        assert!(error.to_string().contains("MOSTLY"), "{error}");
        Ok(())
    });
}

#[test]
fn librdkafka_typo_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", &format!("{MINIMAL}\n"))?;
        jail.set_env("OFFLOAD_KAFKA__SESION_TIMEOUT_MS", "10000");

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        assert!(error.to_string().contains("kafka.\"sesion.timeout.ms\""), "{error}");
        Ok(())
    });
}

#[test]
fn zero_commit_interval_is_rejected() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", &format!("{MINIMAL}\n"))?;
        jail.set_env("OFFLOAD_WORKER__COMMIT_INTERVAL_MS", "0");

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        assert!(error.to_string().contains("worker.commit_interval_ms"), "{error}");
        Ok(())
    });
}

#[test]
fn ddl_statement_is_rejected() {
    for cql in [
        "DROP TABLE ks.counts",
        "truncate ks.counts",
        "ALTER TABLE ks.t ADD c int",
        "SELECT * FROM ks.t",
    ] {
        Jail::expect_with(|jail| {
            jail.create_file(
                "worker.toml",
                &format!("{MINIMAL}\n[statements.evil]\ncql = \"{cql}\"\n"),
            )?;

            let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

            assert!(error.to_string().contains("statements.evil.cql"), "{cql}: {error}");
            Ok(())
        });
    }
}

#[test]
fn dml_statements_are_accepted() {
    for cql in [
        "INSERT INTO ks.t (id) VALUES (?)",
        "  update ks.t SET c = ? WHERE id = ?",
        "DELETE FROM ks.t WHERE id = ?",
    ] {
        assert!(is_dml(cql), "{cql}");
    }
    assert!(!is_dml(""));
}
