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

        let message = error.to_string();
        assert!(message.contains("key `worker.commit_intervall_ms` in "), "{message}");
        assert!(message.contains("`commit_interval_ms`, "), "{message}");
        assert!(!message.contains("default."), "{message}");
        Ok(())
    });
}

#[test]
fn duration_with_unit_is_rejected() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            &format!("{MINIMAL}\n[worker]\nshutdown_timeout_ms = \"1s\"\n"),
        )?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        let message = error.to_string();
        assert!(message.contains("key `worker.shutdown_timeout_ms`"), "{message}");
        assert!(
            message.contains("whole number of milliseconds without a unit"),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn missing_file_is_named() {
    let error = WorkerConfig::load(Some(Path::new("/nonexistent/worker.toml"))).unwrap_err();

    assert!(
        error.to_string().contains("/nonexistent/worker.toml is not a file"),
        "{error}"
    );
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
fn catalog_batch_hiding_ddl_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            &format!(
                "{MINIMAL}\n[statements.sneaky]\ncql = \"BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); DROP TABLE ks.t; APPLY BATCH\"\n"
            ),
        )?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        let message = error.to_string();
        assert!(message.contains("statements.sneaky.cql"), "{message}");
        assert!(message.contains("`DROP`"), "{message}");
        Ok(())
    });
}

#[test]
fn dml_statements_are_accepted() {
    for cql in [
        "INSERT INTO ks.t (id, body) VALUES (?, 'DROP TABLE x')",
        "  update ks.t SET c = ? WHERE id = ?",
        "DELETE FROM ks.t WHERE id = ?",
        "BEGIN UNLOGGED BATCH INSERT INTO ks.t (id) VALUES (?); DELETE FROM ks.u WHERE id = ?; APPLY BATCH",
    ] {
        Jail::expect_with(|jail| {
            jail.create_file(
                "worker.toml",
                &format!("{MINIMAL}\n[statements.fine]\ncql = \"{cql}\"\n"),
            )?;

            let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

            assert_eq!(config.statements["fine"].cql, cql);
            Ok(())
        });
    }
}

#[test]
fn raw_dml_defaults_and_environment() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", MINIMAL)?;
        let defaults = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();
        jail.set_env("OFFLOAD_CASSANDRA__ALLOW_RAW_DML", "true");
        jail.set_env("OFFLOAD_CASSANDRA__RAW_DML_CACHE_SIZE", "5");

        let overridden = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        assert!(!defaults.cassandra.allow_raw_dml);
        assert_eq!(defaults.cassandra.raw_dml_cache_size, 1_000);
        assert_eq!(defaults.cassandra.raw_dml_consistency, "LOCAL_QUORUM");
        assert!(overridden.cassandra.allow_raw_dml);
        assert_eq!(overridden.cassandra.raw_dml_cache_size, 5);
        Ok(())
    });
}

#[test]
fn invalid_raw_dml_settings_are_named() {
    for (table, key) in [
        ("raw_dml_cache_size = 0", "cassandra.raw_dml_cache_size"),
        ("raw_dml_consistency = \"MOSTLY\"", "cassandra.raw_dml_consistency"),
    ] {
        Jail::expect_with(|jail| {
            jail.create_file("worker.toml", &format!("{MINIMAL}\n[cassandra]\n{table}\n"))?;

            let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

            assert!(error.to_string().contains(key), "{error}");
            Ok(())
        });
    }
}

#[test]
fn registry_settings_load_and_hide_the_password() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "worker.toml",
            &format!(
                "{MINIMAL}\n[schemas]\nregistry_url = \"http://127.0.0.1:8081\"\nregistry_username = \"worker\"\n"
            ),
        )?;
        jail.set_env("OFFLOAD_SCHEMAS__REGISTRY_PASSWORD", "hunter2");

        let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        assert_eq!(config.schemas.registry_url.as_deref(), Some("http://127.0.0.1:8081"));
        assert_eq!(config.schemas.registry_username.as_deref(), Some("worker"));
        assert_eq!(config.schemas.registry_password.as_deref(), Some("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
        Ok(())
    });
}

#[test]
fn invalid_registry_settings_are_named() {
    for (table, key) in [
        ("registry_url = \"127.0.0.1:8081\"", "schemas.registry_url"),
        (
            "registry_url = \"http://127.0.0.1:8081\"\nregistry_password = \"secret\"",
            "schemas.registry_username",
        ),
        ("registry_username = \"worker\"", "schemas.registry_url"),
        ("registry_timeout_secs = 0", "schemas.registry_timeout_secs"),
    ] {
        Jail::expect_with(|jail| {
            jail.create_file("worker.toml", &format!("{MINIMAL}\n[schemas]\n{table}\n"))?;

            let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

            assert!(error.to_string().contains(key), "{table}: {error}");
            Ok(())
        });
    }
}

const PUSH: &str = r#"
[apns]
endpoint = "https://127.0.0.1:8443"
public_roots = false
extra_root_certificate_paths = ["ca.pem"]
auth = { method = "token", key_path = "AuthKey.p8", key_id = "STANDIN001", team_id = "TEAM000001" }

[fcm]
service_account_key_path = "service-account.json"
base_url = "https://127.0.0.1:8444"
public_roots = false
"#;

#[test]
fn push_tables_load_with_the_feedback_topic_default() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", &format!("{MINIMAL}{PUSH}"))?;

        let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        let apns = config.apns.unwrap();
        assert_eq!(apns.endpoint, "https://127.0.0.1:8443");
        assert!(!apns.public_roots);
        assert_eq!(apns.connections, 1);
        let fcm = config.fcm.unwrap();
        assert_eq!(fcm.base_url, "https://127.0.0.1:8444");
        assert_eq!(fcm.service_account_key_path, Path::new("service-account.json"));
        assert_eq!(config.topics.push_feedback, "offload.push-feedback");
        Ok(())
    });
}

#[test]
fn push_tables_are_optional() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", MINIMAL)?;

        let config = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap();

        assert!(config.apns.is_none());
        assert!(config.fcm.is_none());
        Ok(())
    });
}

#[test]
fn invalid_push_setting_is_named() {
    let cases = [
        ("OFFLOAD_APNS__CONNECTIONS", "0", "apns.connections"),
        ("OFFLOAD_APNS__TOKEN_REFRESH_SECS", "60", "apns.token_refresh_secs"),
        ("OFFLOAD_APNS__ENDPOINT", "http://127.0.0.1:1", "apns.endpoint"),
        ("OFFLOAD_FCM__BASE_URL", "fcm.example", "fcm.base_url"),
        ("OFFLOAD_FCM__REQUEST_TIMEOUT_MS", "0", "fcm.request_timeout_ms"),
        ("OFFLOAD_TOPICS__PUSH_FEEDBACK", "", "topics.push_feedback"),
        (
            "OFFLOAD_TOPICS__PUSH_FEEDBACK",
            "offload.dispatch",
            "topics.push_feedback",
        ),
    ];
    for (variable, value, key) in cases {
        Jail::expect_with(|jail| {
            jail.create_file("worker.toml", &format!("{MINIMAL}{PUSH}"))?;
            jail.set_env(variable, value);

            let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

            assert!(
                error.to_string().contains(&format!("`{key}`")),
                "{variable}={value}: {error}"
            );
            Ok(())
        });
    }
}

#[test]
fn unknown_push_key_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file("worker.toml", &format!("{MINIMAL}{PUSH}retry_after_secs = 5\n"))?;

        let error = WorkerConfig::load(Some(Path::new("worker.toml"))).unwrap_err();

        let message = format!(
            "{error}: {}",
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(message.contains("retry_after_secs"), "{message}");
        Ok(())
    });
}
